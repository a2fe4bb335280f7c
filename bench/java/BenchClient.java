/*
 * One benchmark run of the Java client (rocketmq-client of the broker's version, from the jars the cluster scripts
 * fetch), printing the same JSON line as bench/clients/*.ts, so `npm run bench` puts it beside the Node clients
 * (client `java`). Compiled by the harness with javac against those jars (bench/suite/java.ts).
 *
 *   java -cp "<lib>/*:<classes>" BenchClient consume --namesrv H:P --topic T --group G --expected N
 *        [--parse-json 1] [--latency-warmup-ms MS] [--deadline-seconds S] [--stall-seconds S]
 *   java -cp ... BenchClient produce --namesrv H:P --topic T --group G --count N --inflight K --body-size B --warmup W
 *
 * Consumer: DefaultMQPushConsumer with its defaults (20 consume threads, batches of 1, pulls of 32), a fresh group
 * from the first offset, a listener that only counts (and in the JSON variant parses each body with fastjson2, the
 * JSON library the Java client ships with). Producer: DefaultMQProducer with its defaults, async sends kept
 * `inflight` outstanding by a semaphore. CPU is the JVM's process CPU (OperatingSystemMXBean, all threads, JIT and GC
 * included); the system share, context switches and peak RSS come from /proc/self.
 */
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendCallback;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;

public final class BenchClient {
    private BenchClient() {}

    /** CPU, context switches and peak RSS of this process. */
    static final class Usage {
        final double cpuTotal;
        final double cpuSystem;
        final long voluntary;
        final long involuntary;
        final long peakRss;

        Usage() {
            com.sun.management.OperatingSystemMXBean os =
                (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
            cpuTotal = os.getProcessCpuTime() / 1e9;
            double system = 0;
            long vol = 0;
            long invol = 0;
            long hwm = 0;
            try {
                String stat = new String(Files.readAllBytes(Paths.get("/proc/self/stat")), StandardCharsets.UTF_8);
                String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                system = Long.parseLong(fields[12]) / 100.0; // stime, field 15, in USER_HZ ticks
                for (String line : Files.readAllLines(Paths.get("/proc/self/status"))) {
                    String[] parts = line.split("\\s+");
                    if (line.startsWith("VmHWM:")) hwm = Long.parseLong(parts[1]) * 1024;
                    if (line.startsWith("voluntary_ctxt_switches:")) vol = Long.parseLong(parts[1]);
                    if (line.startsWith("nonvoluntary_ctxt_switches:")) invol = Long.parseLong(parts[1]);
                }
            } catch (Exception ignored) {
                // Not Linux: the process CPU total is still right.
            }
            cpuSystem = system;
            voluntary = vol;
            involuntary = invol;
            peakRss = hwm;
        }
    }

    static Map<String, String> parseArgs(String[] args) {
        Map<String, String> values = new HashMap<>();
        for (int i = 1; i + 1 < args.length; i += 2) {
            values.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        return values;
    }

    static String jsonString(String value) {
        return "\"" + value.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\"";
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> values = parseArgs(args);
        if (args.length > 0 && args[0].equals("consume")) {
            consume(values);
        } else if (args.length > 0 && args[0].equals("produce")) {
            produce(values);
        } else {
            System.err.println("usage: BenchClient consume|produce --flag value ...");
            System.exit(2);
        }
        System.out.flush();
        System.exit(0);
    }

    // ---- consumer ----

    static void consume(Map<String, String> a) throws Exception {
        final String topic = a.get("topic");
        final int expected = Integer.parseInt(a.get("expected"));
        final boolean parseJson = "1".equals(a.getOrDefault("parse-json", "0"));
        final long latencyWarmupMs = Long.parseLong(a.getOrDefault("latency-warmup-ms", "0"));
        final AtomicLong latencyAfter = new AtomicLong(0);
        final double deadlineSeconds = Double.parseDouble(a.getOrDefault("deadline-seconds", "0"));
        final double stallSeconds = Double.parseDouble(a.getOrDefault("stall-seconds", "60"));

        final Map<String, BitSet> seen = new ConcurrentHashMap<>();
        final AtomicInteger received = new AtomicInteger();
        final AtomicInteger distinct = new AtomicInteger();
        final AtomicInteger otherTopics = new AtomicInteger();
        final AtomicInteger parseFailures = new AtomicInteger();
        final AtomicLong firstAt = new AtomicLong();
        final AtomicLong lastAt = new AtomicLong();
        final AtomicLong lastProgressAt = new AtomicLong(System.nanoTime());
        final AtomicLongArray latencies = new AtomicLongArray(60_001);
        final AtomicLong latencyCount = new AtomicLong();
        final CountDownLatch done = new CountDownLatch(1);
        final Usage[] end = new Usage[1];
        final long[] endAt = new long[1];

        Usage before = new Usage();
        long start = System.nanoTime();
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(a.get("group"));
        consumer.setNamesrvAddr(a.get("namesrv"));
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (messages, context) -> {
            String queueKey = context.getMessageQueue().getBrokerName() + ":" + context.getMessageQueue().getQueueId();
            boolean ownTopic = context.getMessageQueue().getTopic().equals(topic);
            for (MessageExt message : messages) {
                long latencyAfterMs = latencyAfter.get();
                if (latencyAfterMs > 0 && message.getBornTimestamp() >= latencyAfterMs) {
                    long latency = Math.max(0, Math.min(60_000, System.currentTimeMillis() - message.getBornTimestamp()));
                    latencies.incrementAndGet((int) latency);
                    latencyCount.incrementAndGet();
                }
                if (!ownTopic) {
                    otherTopics.incrementAndGet();
                    continue;
                }
                if (parseJson) {
                    try {
                        com.alibaba.fastjson2.JSON.parseObject(message.getBody());
                    } catch (RuntimeException e) {
                        parseFailures.incrementAndGet();
                    }
                }
                received.incrementAndGet();
                long now = System.nanoTime();
                firstAt.compareAndSet(0, now);
                BitSet bits = seen.computeIfAbsent(queueKey, k -> new BitSet());
                boolean fresh;
                synchronized (bits) {
                    int offset = (int) message.getQueueOffset();
                    fresh = !bits.get(offset);
                    bits.set(offset);
                }
                if (fresh && done.getCount() > 0) {
                    lastAt.set(now);
                    lastProgressAt.set(now);
                    if (distinct.incrementAndGet() == expected) {
                        synchronized (end) {
                            if (end[0] == null) {
                                endAt[0] = System.nanoTime();
                                end[0] = new Usage();
                            }
                        }
                        done.countDown();
                    }
                }
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        double startSeconds = (System.nanoTime() - start) / 1e9;
        if (latencyWarmupMs > 0) {
            // The parent starts sending on this line; messages born after the warm-up count.
            latencyAfter.set(System.currentTimeMillis() + latencyWarmupMs);
            System.out.println("bench:ready");
            System.out.flush();
        }
        boolean partial = false;
        String failure = null;
        while (!done.await(200, TimeUnit.MILLISECONDS)) {
            long now = System.nanoTime();
            if (deadlineSeconds > 0 && (now - start) / 1e9 > deadlineSeconds) {
                partial = true;
                break;
            }
            if ((now - lastProgressAt.get()) / 1e9 > stallSeconds) {
                failure = "java: no progress for " + stallSeconds + " s: " + distinct.get() + " of " + expected + " distinct";
                break;
            }
        }
        if (failure != null) {
            System.err.println(failure);
            System.exit(1);
        }
        synchronized (end) {
            if (end[0] == null) {
                endAt[0] = System.nanoTime();
                end[0] = new Usage();
            }
        }
        long shutdownStart = System.nanoTime();
        consumer.shutdown();
        double shutdownSeconds = (System.nanoTime() - shutdownStart) / 1e9;
        Usage e = end[0];
        double elapsed = (endAt[0] - start) / 1e9;
        double firstToLast = firstAt.get() == 0 ? 0 : (lastAt.get() - firstAt.get()) / 1e9;
        int dist = distinct.get();
        StringBuilder json = new StringBuilder();
        json.append(String.format(Locale.ROOT,
            "{\"client\":\"java\",\"expected\":%d,\"received\":%d,\"distinct\":%d,\"duplicates\":%d,\"otherTopics\":%d,"
                + "\"startSeconds\":%.4f,\"firstMessageSeconds\":%.4f,\"elapsedSeconds\":%.4f,\"msgsPerSecond\":%.2f,"
                + "\"cpuUserSeconds\":%.4f,\"cpuSystemSeconds\":%.4f,\"voluntaryContextSwitches\":%d,"
                + "\"involuntaryContextSwitches\":%d,\"peakRssBytes\":%d,\"clientErrors\":%d,\"shutdownSeconds\":%.4f,"
                + "\"firstToLastSeconds\":%.4f,\"firstToLastMsgsPerSecond\":%.2f,\"partial\":%b,\"parsedJson\":%b",
            expected, received.get(), dist, received.get() - dist, otherTopics.get(), startSeconds,
            firstAt.get() == 0 ? elapsed : (firstAt.get() - start) / 1e9, elapsed, dist / elapsed,
            (e.cpuTotal - before.cpuTotal) - (e.cpuSystem - before.cpuSystem), e.cpuSystem - before.cpuSystem,
            e.voluntary - before.voluntary, e.involuntary - before.involuntary, e.peakRss, parseFailures.get(),
            shutdownSeconds, firstToLast, firstToLast > 0 ? (dist - 1) / firstToLast : 0, partial, parseJson));
        long count = latencyCount.get();
        if (count > 0) {
            json.append(String.format(Locale.ROOT, ",\"latency\":{\"count\":%d,\"p50Ms\":%d,\"p99Ms\":%d,\"maxMs\":%d}",
                count, percentile(latencies, count, 0.5), percentile(latencies, count, 0.99), percentile(latencies, count, 1)));
        }
        if (parseFailures.get() > 0) {
            json.append(",\"firstClientError\":").append(jsonString(parseFailures.get() + " bodies were not JSON"));
        }
        json.append("}");
        System.out.println(json);
    }

    static long percentile(AtomicLongArray slots, long count, double share) {
        long rank = (long) Math.ceil(share * count);
        long seen = 0;
        for (int ms = 0; ms < slots.length(); ms++) {
            seen += slots.get(ms);
            if (seen >= rank) return ms;
        }
        return slots.length() - 1;
    }

    // ---- producer ----

    static final class Tally {
        final AtomicInteger errors = new AtomicInteger();
        final AtomicInteger notOk = new AtomicInteger();
        volatile String firstError;
    }

    /** Sends `count` messages numbered from `first`, keeping `inflight` async sends outstanding. */
    static Tally pipeline(DefaultMQProducer producer, String topic, byte[] body, int first, int count, int inflight)
        throws InterruptedException {
        Tally tally = new Tally();
        Semaphore permits = new Semaphore(inflight);
        for (int i = 0; i < count; i++) {
            permits.acquire();
            Message message = new Message(topic, "bench", "k" + (first + i), body);
            try {
                producer.send(message, new SendCallback() {
                    @Override
                    public void onSuccess(SendResult result) {
                        if (result.getSendStatus() != SendStatus.SEND_OK) tally.notOk.incrementAndGet();
                        permits.release();
                    }

                    @Override
                    public void onException(Throwable error) {
                        tally.errors.incrementAndGet();
                        if (tally.firstError == null) tally.firstError = error.toString();
                        permits.release();
                    }
                });
            } catch (Exception error) {
                tally.errors.incrementAndGet();
                if (tally.firstError == null) tally.firstError = error.toString();
                permits.release();
            }
        }
        permits.acquire(inflight);
        return tally;
    }

    static void produce(Map<String, String> a) throws Exception {
        String topic = a.get("topic");
        int count = Integer.parseInt(a.get("count"));
        int inflight = Integer.parseInt(a.get("inflight"));
        int warmup = Integer.parseInt(a.get("warmup"));
        byte[] body = new byte[Integer.parseInt(a.get("body-size"))];
        java.util.Arrays.fill(body, (byte) 'a');
        DefaultMQProducer producer = new DefaultMQProducer(a.get("group"));
        producer.setNamesrvAddr(a.get("namesrv"));
        producer.start();
        Tally warm = pipeline(producer, topic, body, 0, warmup, inflight);
        if (warmup > 0 && warm.errors.get() == warmup) {
            System.err.println("java: every warm-up send failed: " + warm.firstError);
            System.exit(1);
        }
        Usage before = new Usage();
        long start = System.nanoTime();
        Tally tally = pipeline(producer, topic, body, warmup, count, inflight);
        long endAt = System.nanoTime();
        Usage e = new Usage();
        producer.shutdown();
        double elapsed = (endAt - start) / 1e9;
        StringBuilder json = new StringBuilder();
        json.append(String.format(Locale.ROOT,
            "{\"client\":\"java\",\"inflight\":%d,\"messages\":%d,\"errors\":%d,\"notOk\":%d,\"elapsedSeconds\":%.4f,"
                + "\"msgsPerSecond\":%.2f,\"cpuUserSeconds\":%.4f,\"cpuSystemSeconds\":%.4f,"
                + "\"voluntaryContextSwitches\":%d,\"involuntaryContextSwitches\":%d,\"peakRssBytes\":%d,\"warmupErrors\":%d",
            inflight, count, tally.errors.get(), tally.notOk.get(), elapsed, (count - tally.errors.get()) / elapsed,
            (e.cpuTotal - before.cpuTotal) - (e.cpuSystem - before.cpuSystem), e.cpuSystem - before.cpuSystem,
            e.voluntary - before.voluntary, e.involuntary - before.involuntary, e.peakRss, warm.errors.get()));
        if (tally.firstError != null) json.append(",\"firstError\":").append(jsonString(tally.firstError));
        json.append("}");
        System.out.println(json);
    }
}
