// Runs the Java client's own LocalFileOffsetStore on a directory, to pin down the offsets
// file format the local store of crates/client must share with Java.
//
//   write <clientId> <group>            two persists of three queues: offsets.json and .bak
//                                        as Java leaves them (committed as
//                                        crates/client/tests/fixtures/java-offsets.json{,.bak})
//   read  <clientId> <group> <outFile>  loads the store and prints topic|broker|queue=offset
//                                        per line: checks that Java reads a file we wrote
//
// From the repository root (LIB = the lib/ folder of the RocketMQ 5.3.3 distribution the
// scripts fetch, e.g. ~/.cache/rocketmq-napi/rocketmq-5.3.3/lib; DIR = any scratch dir):
//   mkdir -p /tmp/offset-vectors
//   javac -cp "$LIB/*" -d /tmp/offset-vectors crates/client/tests/java/OffsetFileVectors.java
//   java -Drocketmq.client.localOffsetStoreDir=$DIR -cp "/tmp/offset-vectors:$LIB/*" \
//     OffsetFileVectors write java-client@1 java-group
// The store directory is a system property read when the class loads, hence -D.

import java.io.File;
import java.nio.file.Files;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.rocketmq.client.ClientConfig;
import org.apache.rocketmq.client.consumer.store.LocalFileOffsetStore;
import org.apache.rocketmq.client.consumer.store.ReadOffsetType;
import org.apache.rocketmq.client.impl.factory.MQClientInstance;
import org.apache.rocketmq.common.message.MessageQueue;

public class OffsetFileVectors {
    public static void main(String[] args) throws Exception {
        MQClientInstance instance = new MQClientInstance(new ClientConfig(), 0, args[1]);
        LocalFileOffsetStore store = new LocalFileOffsetStore(instance, args[2]);
        if (args[0].equals("write")) {
            Set<MessageQueue> all = new HashSet<>();
            all.add(new MessageQueue("TopicTest", "broker-a", 0));
            all.add(new MessageQueue("TopicTest", "broker-b", 3));
            all.add(new MessageQueue("%RETRY%java-group", "broker-a", 0));
            long base = 100;
            for (MessageQueue mq : all) store.updateOffset(mq, base++, false);
            store.persistAll(all);
            for (MessageQueue mq : all) store.updateOffset(mq, base++ * 1000, false);
            store.persistAll(all);
        } else {
            store.load();
            StringBuilder out = new StringBuilder();
            Map<String, Long> sorted = new TreeMap<>();
            for (Map.Entry<MessageQueue, Long> e : store.cloneOffsetTable("").entrySet()) {
                sorted.put(e.getKey().getTopic() + "|" + e.getKey().getBrokerName() + "|" + e.getKey().getQueueId(), e.getValue());
            }
            for (Map.Entry<String, Long> e : sorted.entrySet()) out.append(e.getKey()).append('=').append(e.getValue()).append('\n');
            Files.write(new File(args[3]).toPath(), out.toString().getBytes("UTF-8"));
        }
        System.exit(0);
    }
}
