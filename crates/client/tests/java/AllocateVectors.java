// Prints, as JSON, what the Java client's queue-allocation strategies assign for a set of
// inputs; crates/client/tests/allocate_vectors.rs checks ours against it. The fixture is
// committed so the Rust test needs no JVM; rerun this only when cases are added.
//
// Regenerate from the repository root (LIB = the lib/ folder of the RocketMQ 5.3.3
// distribution the scripts fetch, e.g. ~/.cache/rocketmq-napi/rocketmq-5.3.3/lib):
//   mkdir -p /tmp/allocate-vectors
//   javac -cp "$LIB/*" -d /tmp/allocate-vectors crates/client/tests/java/AllocateVectors.java
//   java -cp "/tmp/allocate-vectors:$LIB/*" AllocateVectors \
//     crates/client/tests/fixtures/allocate_vectors.json
// (a file argument rather than stdout: the client's logging prints its own start-up lines there)

import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import org.apache.rocketmq.client.consumer.AllocateMessageQueueStrategy;
import org.apache.rocketmq.client.consumer.rebalance.AllocateMessageQueueAveragely;
import org.apache.rocketmq.client.consumer.rebalance.AllocateMessageQueueAveragelyByCircle;
import org.apache.rocketmq.client.consumer.rebalance.AllocateMessageQueueByConfig;
import org.apache.rocketmq.client.consumer.rebalance.AllocateMessageQueueByMachineRoom;
import org.apache.rocketmq.client.consumer.rebalance.AllocateMessageQueueConsistentHash;
import org.apache.rocketmq.common.message.MessageQueue;

public class AllocateVectors {
    static final String GROUP = "vector-group";
    static final StringBuilder out = new StringBuilder();
    static boolean firstCase = true;
    static final Random random = new Random(20261126L);

    /** One strategy as the fixture describes it: its kind plus the parameters it was built with. */
    static final class Spec {
        final String kind;
        final Integer virtualNodes;
        final List<String> idcs;
        final List<MessageQueue> config;
        Spec(String kind, Integer virtualNodes, List<String> idcs, List<MessageQueue> config) {
            this.kind = kind;
            this.virtualNodes = virtualNodes;
            this.idcs = idcs;
            this.config = config;
        }
        AllocateMessageQueueStrategy build() {
            switch (kind) {
                case "averagely": return new AllocateMessageQueueAveragely();
                case "averagelyByCircle": return new AllocateMessageQueueAveragelyByCircle();
                case "consistentHash":
                    return virtualNodes == null ? new AllocateMessageQueueConsistentHash()
                        : new AllocateMessageQueueConsistentHash(virtualNodes);
                case "machineRoom": {
                    AllocateMessageQueueByMachineRoom s = new AllocateMessageQueueByMachineRoom();
                    s.setConsumeridcs(new HashSet<>(idcs));
                    return s;
                }
                case "config": {
                    AllocateMessageQueueByConfig s = new AllocateMessageQueueByConfig();
                    s.setMessageQueueList(config);
                    return s;
                }
                default: throw new IllegalStateException(kind);
            }
        }
    }

    static Spec avg() { return new Spec("averagely", null, null, null); }
    static Spec circle() { return new Spec("averagelyByCircle", null, null, null); }
    static Spec hash(Integer vn) { return new Spec("consistentHash", vn, null, null); }
    static Spec room(String... idcs) { return new Spec("machineRoom", null, Arrays.asList(idcs), null); }
    static Spec config(List<MessageQueue> mqs) { return new Spec("config", null, null, mqs); }

    static String str(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20 || c > 0x7e) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }

    static String mq(MessageQueue q) {
        return "[" + str(q.getTopic()) + "," + str(q.getBrokerName()) + "," + q.getQueueId() + "]";
    }

    static String mqs(List<MessageQueue> qs) {
        if (qs == null) return "null";
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < qs.size(); i++) b.append(i == 0 ? "" : ",").append(mq(qs.get(i)));
        return b.append("]").toString();
    }

    static String strs(List<String> ss) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < ss.size(); i++) b.append(i == 0 ? "" : ",").append(str(ss.get(i)));
        return b.append("]").toString();
    }

    static String spec(Spec s) {
        StringBuilder b = new StringBuilder("{\"kind\":" + str(s.kind));
        if (s.virtualNodes != null) b.append(",\"virtualNodes\":").append(s.virtualNodes);
        if (s.idcs != null) b.append(",\"consumerIdcs\":").append(strs(s.idcs));
        if (s.config != null) b.append(",\"queues\":").append(mqs(s.config));
        return b.append("}").toString();
    }

    /**
     * Runs one case. With sortFirst the inputs are sorted as RebalanceImpl sorts them before
     * calling the strategy; the sorted lists are recorded so the Rust side can check its sort.
     * Every cid of the list is asked, plus each of extraAsked (cids outside the list, "").
     */
    static void run(String name, Spec spec, List<MessageQueue> inputQueues, List<String> inputCids,
        boolean sortFirst, String... extraAsked) {
        List<MessageQueue> queues = new ArrayList<>(inputQueues);
        List<String> cids = new ArrayList<>(inputCids);
        if (sortFirst) {
            Collections.sort(queues);
            Collections.sort(cids);
        }
        AllocateMessageQueueStrategy strategy = spec.build();
        StringBuilder c = new StringBuilder();
        c.append(firstCase ? "\n" : ",\n").append("  {\"name\":").append(str(name))
            .append(",\"strategy\":").append(spec(spec))
            .append(",\"javaName\":").append(str(strategy.getName()))
            .append(",\"sortFirst\":").append(sortFirst)
            .append(",\n   \"inputQueues\":").append(mqs(inputQueues))
            .append(",\n   \"inputCids\":").append(strs(inputCids));
        if (sortFirst) {
            c.append(",\n   \"sortedQueues\":").append(mqs(queues))
                .append(",\n   \"sortedCids\":").append(strs(cids));
        }
        c.append(",\n   \"allocations\":[");
        List<String> asked = new ArrayList<>(new java.util.LinkedHashSet<>(cids));
        asked.addAll(Arrays.asList(extraAsked));
        for (int i = 0; i < asked.size(); i++) {
            String cid = asked.get(i);
            c.append(i == 0 ? "\n    " : ",\n    ").append("{\"cid\":").append(str(cid));
            try {
                List<MessageQueue> got = strategy.allocate(GROUP, cid, queues, cids);
                c.append(",\"queues\":").append(mqs(got)).append("}");
            } catch (IllegalArgumentException e) {
                c.append(",\"error\":").append(str(e.getMessage())).append("}");
            }
        }
        c.append("]}");
        out.append(c);
        firstCase = false;
    }

    static List<MessageQueue> queues(String topic, Object... brokerAndCount) {
        List<MessageQueue> qs = new ArrayList<>();
        for (int i = 0; i < brokerAndCount.length; i += 2) {
            for (int q = 0; q < (Integer) brokerAndCount[i + 1]; q++) {
                qs.add(new MessageQueue(topic, (String) brokerAndCount[i], q));
            }
        }
        return qs;
    }

    /** "broker-a:4+broker-b:3": how many queues each broker has, for case names. */
    static String layout(List<MessageQueue> qs) {
        java.util.Map<String, Integer> counts = new java.util.LinkedHashMap<>();
        for (MessageQueue q : qs) counts.merge(q.getBrokerName(), 1, Integer::sum);
        StringBuilder b = new StringBuilder();
        counts.forEach((broker, n) -> b.append(b.length() == 0 ? "" : "+").append(broker).append(':').append(n));
        return b.toString();
    }

    static <T> List<T> shuffled(List<T> in) {
        List<T> copy = new ArrayList<>(in);
        Collections.shuffle(copy, random);
        return copy;
    }

    /** Client ids shaped like the Java client's (ip@pid), in an order that sorting changes. */
    static List<String> cids(int n) {
        List<String> cs = new ArrayList<>();
        for (int i = 1; i <= n; i++) cs.add("10.0.0." + (i * 7 % 23 + 1) + "@" + (4000 + i * 13));
        return shuffled(cs);
    }

    static long md5Hash(String key) throws Exception {
        Class<?> cls = Class.forName("org.apache.rocketmq.common.consistenthash.ConsistentHashRouter$MD5Hash");
        Constructor<?> ctor = cls.getDeclaredConstructor();
        ctor.setAccessible(true);
        Object h = ctor.newInstance();
        Method m = cls.getDeclaredMethod("hash", String.class);
        m.setAccessible(true);
        return (Long) m.invoke(h, key);
    }

    public static void main(String[] args) throws Exception {
        out.append("{\"generatedBy\":\"crates/client/tests/java/AllocateVectors.java against rocketmq-client 5.3.3\",\n");
        out.append(" \"md5Hashes\":[");
        String[] keys = {"", "a", "10.0.0.2@4013-0", "10.0.0.2@4013-9",
            "MessageQueue [topic=TopicTest, brokerName=broker-a, queueId=0]",
            "MessageQueue [topic=TopicTest, brokerName=broker-b, queueId=7]",
            "\u00e9t\u00e9-3", "\u6d88\u8d39\u8005-0", "\ud83d\ude00"};
        for (int i = 0; i < keys.length; i++) {
            out.append(i == 0 ? "\n  " : ",\n  ").append("{\"key\":").append(str(keys[i]))
                .append(",\"hash\":").append(md5Hash(keys[i])).append("}");
        }
        out.append("],\n \"cases\":[");

        String t = "TopicTest";
        List<List<MessageQueue>> queueSets = Arrays.asList(
            queues(t, "broker-a", 1),
            queues(t, "broker-a", 4),
            queues(t, "broker-a", 5),
            queues(t, "broker-a", 4, "broker-b", 4),
            queues(t, "broker-a", 8, "broker-b", 8),
            queues(t, "broker-a", 4, "broker-b", 3, "broker-c", 1),
            queues(t, "broker-a", 2, "broker-b", 2, "broker-c", 3),
            queues(t, "broker-a", 12));
        int[] cidCounts = {1, 2, 3, 4, 5, 7, 8, 17};
        Spec[] plain = {avg(), circle(), hash(null)};
        for (Spec s : plain) {
            for (List<MessageQueue> qs : queueSets) {
                for (int n : cidCounts) {
                    run(s.kind + " " + layout(qs) + " " + n + " cids", s, shuffled(qs), cids(n), true,
                        "10.0.0.99@1");
                }
            }
        }
        for (Integer vn : new Integer[] {0, 1, 3, 50}) {
            for (int n : new int[] {1, 3, 6}) {
                List<MessageQueue> qs = queues(t, "broker-a", 8, "broker-b", 8);
                run("consistentHash " + vn + " virtual nodes " + n + " cids", hash(vn), shuffled(qs), cids(n), true);
            }
        }
        // Strategies given unsorted input as is: they must not sort it themselves.
        List<MessageQueue> mixed = queues(t, "broker-b", 3, "broker-a", 3);
        for (Spec s : plain) {
            run(s.kind + " unsorted input used as given", s, shuffled(mixed), Arrays.asList("c2", "c10", "c1"), false);
        }
        // Ordering: topic first, then broker name (uppercase before lowercase), then queue id numerically.
        List<MessageQueue> ordering = new ArrayList<>();
        ordering.addAll(queues("TopicB", "broker-a", 2));
        ordering.addAll(queues("%RETRY%vector-group", "broker-a", 1));
        ordering.addAll(queues("TopicA", "broker-b", 11, "Broker-z", 1, "broker-a1", 1, "broker-a", 2));
        run("ordering across topics and broker names", avg(), shuffled(ordering),
            Arrays.asList("b@1", "B@1", "a@10", "a@9", "a@1"), true);
        // Duplicate client ids: indexOf finds the first; the ring adds the second's nodes after the first's.
        for (Spec s : plain) {
            run(s.kind + " duplicate cids", s, queues(t, "broker-a", 16, "broker-b", 16), Arrays.asList("x@1", "y@1", "x@1"), false);
        }
        // Argument checks.
        for (Spec s : new Spec[] {avg(), circle(), hash(null), room("hz"), config(queues(t, "broker-a", 1))}) {
            run(s.kind + " checks: empty cid", s, queues(t, "broker-a", 2), Arrays.asList("a@1"), false, "");
            run(s.kind + " checks: no queues", s, new ArrayList<>(), Arrays.asList("a@1"), false);
            run(s.kind + " checks: no cids", s, queues(t, "broker-a", 2), new ArrayList<>(), false, "a@1");
        }
        // Machine rooms: brokerName is "<room>@<name>"; only names splitting into exactly two parts count.
        List<MessageQueue> rooms = new ArrayList<>();
        rooms.addAll(queues(t, "hz@broker-a", 4, "sh@broker-b", 3, "bj@broker-c", 2, "broker-d", 2));
        rooms.addAll(queues(t, "x@y@z", 1, "hz@broker-e@", 2, "@anon", 1, "hz@", 1, "@", 1));
        String[][] idcSets = {{"hz"}, {"hz", "sh"}, {"hz", "sh", "bj"}, {""}, {}, {"broker-d"}};
        for (String[] idcs : idcSets) {
            for (int n : new int[] {1, 2, 3, 5, 12}) {
                run("machineRoom " + strs(Arrays.asList(idcs)) + " " + n + " cids", room(idcs), shuffled(rooms), cids(n),
                    true, "10.0.0.99@1");
            }
        }
        // By config: the configured list whatever the inputs, even queues of other topics.
        List<MessageQueue> fixed = Arrays.asList(new MessageQueue(t, "broker-b", 3), new MessageQueue(t, "broker-a", 0),
            new MessageQueue("OtherTopic", "broker-z", 9));
        run("config fixed list", config(fixed), queues(t, "broker-a", 4, "broker-b", 4), cids(3), true, "10.0.0.99@1");
        run("config empty list", config(new ArrayList<>()), queues(t, "broker-a", 4), cids(2), true);
        out.append("\n]}\n");
        java.nio.file.Files.write(java.nio.file.Paths.get(args[0]),
            out.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
}
