// Runs several mqadmin commands in one JVM (one JVM per command costs seconds each), signed with the
// credentials in ROCKETMQ_ACL_ADMIN_USER / ROCKETMQ_ACL_ADMIN_PASSWORD. Launched as a single-file program
// (java -cp '<rocketmq lib>/*' AclSetup.java 'cmd arg ...' 'cmd arg ...'); each argument is one command line,
// split on spaces. Exits 1 at the first command that fails to parse.
import org.apache.rocketmq.acl.common.AclClientRPCHook;
import org.apache.rocketmq.acl.common.SessionCredentials;
import org.apache.rocketmq.tools.command.MQAdminStartup;

public class AclSetup {
    public static void main(String[] commands) {
        AclClientRPCHook hook = new AclClientRPCHook(new SessionCredentials(
            System.getenv("ROCKETMQ_ACL_ADMIN_USER"), System.getenv("ROCKETMQ_ACL_ADMIN_PASSWORD")));
        for (String command : commands) {
            System.out.println("mqadmin " + command);
            MQAdminStartup.main0(command.trim().split(" +"), hook);
        }
    }
}
