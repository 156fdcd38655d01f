package platform.infra;

import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.bson.Document;
import io.netty.channel.Channel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import org.h2.mvstore.MVStore;

/**
 * Local MongoDB wire-compatible server for development and tests (never production).
 *
 * <p>Usage: {@code MongoServerMain <host> <port> <h2-file>}.
 *
 * <p>H2's MVStore commits in the background about once a second, so a write acknowledged to a
 * client could vanish if the process is killed with SIGKILL inside that window. The failure
 * scenarios kill this server on purpose, so every write command is committed before it is
 * acknowledged. That makes writes survive a process crash (the OS page cache keeps them); it does
 * not make them survive a power loss, which no local test needs.
 */
public final class MongoServerMain {

  private static final Set<String> READ_ONLY_COMMANDS =
      Set.of(
          "find", "getmore", "count", "distinct", "aggregate", "ping", "hello", "ismaster",
          "buildinfo", "listcollections", "listdatabases", "listindexes", "dbstats", "collstats",
          "serverstatus", "getlasterror", "getlog", "whatsmyuri", "endsessions", "killcursors",
          "saslstart", "saslcontinue", "getparameter", "hostinfo", "getcmdlineopts", "connectionstatus");

  /** H2 backend that commits the MVStore after every command that may have written. */
  static final class CommittingH2Backend extends H2Backend {
    CommittingH2Backend(MVStore store) {
      super(store);
    }

    @Override
    public Document handleCommand(Channel channel, String databaseName, String command, Document query) {
      try {
        return super.handleCommand(channel, databaseName, command, query);
      } finally {
        if (!READ_ONLY_COMMANDS.contains(command.toLowerCase())) {
          commit();
        }
      }
    }
  }

  private MongoServerMain() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 3) {
      System.err.println("usage: MongoServerMain <host> <port> <h2-file>");
      System.exit(2);
    }
    String host = args[0];
    int port = Integer.parseInt(args[1]);
    Path file = Path.of(args[2]).toAbsolutePath();
    Files.createDirectories(file.getParent());

    MVStore store = new MVStore.Builder().fileName(file.toString()).open();
    H2Backend backend = new CommittingH2Backend(store);
    MongoServer server = new MongoServer(backend);
    server.bind(host, port);
    System.out.println("mongo-java-server listening on " + host + ":" + port + " (h2 file " + file + ")");

    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  System.out.println("mongo-java-server shutting down");
                  server.shutdownNow();
                  stopped.countDown();
                }));
    stopped.await();
  }
}
