// Decodes a ConsumerRunningInfo body written by our encoder with the Java class itself
// (RemotingSerializable.decode, i.e. fastjson 1, as mqadmin consumerStatus does) and writes
// every field back, one per line in a fixed order, to the file named by the second argument
// (stdout carries RocketMQ's logging noise). The Rust test `tests/running_info.rs` compares
// that printout with what it encoded. The checks mqadmin runs on the answer (isPushType,
// analyzeSubscription) are written too; formatString(), the table `mqadmin consumerStatus`
// shows, goes to stderr for a human to look at.
//
// Run from the repository root, with the jars scripts/rocketmq fetches:
//   RUNNING_INFO_WRITE_FIXTURE=1 cargo test -p rocketmq-remoting --test running_info
//   CP='/root/.cache/rocketmq-napi/rocketmq-5.3.3/lib/*'
//   javac -cp "$CP" -d /tmp/running-info-check crates/remoting/tests/java/RunningInfoCheck.java
//   java -cp "/tmp/running-info-check:$CP" RunningInfoCheck \
//     crates/remoting/tests/fixtures/running_info.body \
//     crates/remoting/tests/fixtures/running_info.java.txt
// then run the Rust test again without the variable.

import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.remoting.protocol.body.ConsumeStatus;
import org.apache.rocketmq.remoting.protocol.body.ConsumerRunningInfo;
import org.apache.rocketmq.remoting.protocol.body.PopProcessQueueInfo;
import org.apache.rocketmq.remoting.protocol.body.ProcessQueueInfo;
import org.apache.rocketmq.remoting.protocol.heartbeat.SubscriptionData;

public class RunningInfoCheck {
    public static void main(String[] args) throws Exception {
        byte[] body = Files.readAllBytes(Paths.get(args[0]));
        ConsumerRunningInfo info = ConsumerRunningInfo.decode(body, ConsumerRunningInfo.class);
        PrintStream out = new PrintStream(new FileOutputStream(args[1]), true, "UTF-8");

        for (String name : new TreeSet<>(info.getProperties().stringPropertyNames())) {
            out.println("properties." + name + "=" + info.getProperties().getProperty(name));
        }
        int i = 0;
        for (SubscriptionData sd : info.getSubscriptionSet()) {
            String p = "subscriptionSet[" + i++ + "].";
            out.println(p + "topic=" + sd.getTopic());
            out.println(p + "subString=" + sd.getSubString());
            out.println(p + "tagsSet=" + new TreeSet<>(sd.getTagsSet()));
            out.println(p + "codeSet=" + new TreeSet<>(sd.getCodeSet()));
            out.println(p + "subVersion=" + sd.getSubVersion());
            out.println(p + "expressionType=" + sd.getExpressionType());
            out.println(p + "classFilterMode=" + sd.isClassFilterMode());
        }
        for (Map.Entry<MessageQueue, ProcessQueueInfo> e : info.getMqTable().entrySet()) {
            String p = "mqTable[" + key(e.getKey()) + "].";
            ProcessQueueInfo q = e.getValue();
            out.println(p + "commitOffset=" + q.getCommitOffset());
            out.println(p + "cachedMsgMinOffset=" + q.getCachedMsgMinOffset());
            out.println(p + "cachedMsgMaxOffset=" + q.getCachedMsgMaxOffset());
            out.println(p + "cachedMsgCount=" + q.getCachedMsgCount());
            out.println(p + "cachedMsgSizeInMiB=" + q.getCachedMsgSizeInMiB());
            out.println(p + "transactionMsgMinOffset=" + q.getTransactionMsgMinOffset());
            out.println(p + "transactionMsgMaxOffset=" + q.getTransactionMsgMaxOffset());
            out.println(p + "transactionMsgCount=" + q.getTransactionMsgCount());
            out.println(p + "locked=" + q.isLocked());
            out.println(p + "tryUnlockTimes=" + q.getTryUnlockTimes());
            out.println(p + "lastLockTimestamp=" + q.getLastLockTimestamp());
            out.println(p + "droped=" + q.isDroped());
            out.println(p + "lastPullTimestamp=" + q.getLastPullTimestamp());
            out.println(p + "lastConsumeTimestamp=" + q.getLastConsumeTimestamp());
        }
        for (Map.Entry<MessageQueue, PopProcessQueueInfo> e : info.getMqPopTable().entrySet()) {
            String p = "mqPopTable[" + key(e.getKey()) + "].";
            PopProcessQueueInfo q = e.getValue();
            out.println(p + "waitAckCount=" + q.getWaitAckCount());
            out.println(p + "droped=" + q.isDroped());
            out.println(p + "lastPopTimestamp=" + q.getLastPopTimestamp());
        }
        for (Map.Entry<String, ConsumeStatus> e : info.getStatusTable().entrySet()) {
            String p = "statusTable[" + e.getKey() + "].";
            ConsumeStatus s = e.getValue();
            out.println(p + "pullRT=" + s.getPullRT());
            out.println(p + "pullTPS=" + s.getPullTPS());
            out.println(p + "consumeRT=" + s.getConsumeRT());
            out.println(p + "consumeOKTPS=" + s.getConsumeOKTPS());
            out.println(p + "consumeFailedTPS=" + s.getConsumeFailedTPS());
            out.println(p + "consumeFailedMsgs=" + s.getConsumeFailedMsgs());
        }
        for (Map.Entry<String, String> e : info.getUserConsumerInfo().entrySet()) {
            out.println("userConsumerInfo." + e.getKey() + "=" + e.getValue());
        }
        out.println("jstack=" + info.getJstack());

        TreeMap<String, ConsumerRunningInfo> byClient = new TreeMap<>();
        byClient.put("client-a", info);
        byClient.put("client-b", ConsumerRunningInfo.decode(body, ConsumerRunningInfo.class));
        out.println("isPushType=" + ConsumerRunningInfo.isPushType(info));
        out.println("analyzeSubscription=" + ConsumerRunningInfo.analyzeSubscription(byClient));

        out.close();
        System.err.println(info.formatString());
    }

    private static String key(MessageQueue mq) {
        return mq.getTopic() + "/" + mq.getBrokerName() + "/" + mq.getQueueId();
    }
}
