// Runs several mqadmin commands in one JVM (one JVM per command costs seconds each), signed with the
// credentials in ROCKETMQ_ACL_ADMIN_USER / ROCKETMQ_ACL_ADMIN_PASSWORD. Launched as a single-file program
// (java -cp '<rocketmq lib>/*' AclSetup.java 'cmd arg ...' 'cmd arg ...'); each argument is one command line,
// split on spaces. A command whose output lacks mqadmin's "success." is tried again (up to 3 times, a second
// apart): on a loaded machine a fresh broker can miss mqadmin's short request timeouts. Each command's output
// is printed as mqadmin printed it.
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import org.apache.rocketmq.acl.common.AclClientRPCHook;
import org.apache.rocketmq.acl.common.SessionCredentials;
import org.apache.rocketmq.tools.command.MQAdminStartup;

public class AclSetup {
    private static final int ATTEMPTS = 3;

    public static void main(String[] commands) throws InterruptedException {
        AclClientRPCHook hook = new AclClientRPCHook(new SessionCredentials(
            System.getenv("ROCKETMQ_ACL_ADMIN_USER"), System.getenv("ROCKETMQ_ACL_ADMIN_PASSWORD")));
        PrintStream console = System.out;
        for (String command : commands) {
            for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
                ByteArrayOutputStream captured = new ByteArrayOutputStream();
                System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
                try {
                    MQAdminStartup.main0(command.trim().split(" +"), hook);
                } finally {
                    System.setOut(console);
                }
                String output = captured.toString(StandardCharsets.UTF_8);
                console.println("mqadmin " + command + (attempt > 1 ? " (attempt " + attempt + ")" : ""));
                console.print(output);
                if (output.contains(" success.") || attempt == ATTEMPTS) {
                    break;
                }
                Thread.sleep(1000);
            }
        }
    }
}
