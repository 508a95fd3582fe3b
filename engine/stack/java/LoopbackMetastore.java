/*
 * Serves the Hive metastore (the pyspark wheel's hive-metastore 2.3.10) on one
 * address only. HiveMetaStore.main in Hive 2.3 always binds every interface;
 * headwater keeps its services on loopback, so it builds the same handler and
 * processor HiveMetaStore.startMetaStore builds and serves them on a socket
 * bound to the given host.
 *
 * With IDLE_SECONDS > 0 (the local profile's on-demand metastore) it exits once no
 * client has been connected for that long: a Spark session holds its connection
 * while it lives, a CLI command only for its call.
 *
 * Compiled once by `headwater stack jars` (make setup) into the jar cache.
 * Usage: java -cp <conf>:<spark jars>/*:<cache> LoopbackMetastore HOST PORT [IDLE_SECONDS]
 */

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.hadoop.hive.conf.HiveConf;
import org.apache.hadoop.hive.metastore.HiveMetaStore;
import org.apache.hadoop.hive.metastore.IHMSHandler;
import org.apache.hadoop.hive.metastore.TSetIpAddressProcessor;
import org.apache.thrift.protocol.TBinaryProtocol;
import org.apache.thrift.protocol.TProtocol;
import org.apache.thrift.server.ServerContext;
import org.apache.thrift.server.TServer;
import org.apache.thrift.server.TServerEventHandler;
import org.apache.thrift.server.TThreadPoolServer;
import org.apache.thrift.transport.TServerSocket;
import org.apache.thrift.transport.TTransport;
import org.apache.thrift.transport.TTransportFactory;

public final class LoopbackMetastore {
    private LoopbackMetastore() {}

    /** Counts open client connections and remembers when the last one closed. */
    private static final class Connections implements TServerEventHandler {
        final AtomicInteger open = new AtomicInteger();
        final AtomicLong idleSince = new AtomicLong(System.nanoTime());

        @Override public void preServe() {}

        @Override public ServerContext createContext(TProtocol in, TProtocol out) {
            open.incrementAndGet();
            return null;
        }

        @Override public void deleteContext(ServerContext context, TProtocol in, TProtocol out) {
            if (open.decrementAndGet() == 0) {
                idleSince.set(System.nanoTime());
            }
        }

        @Override public void processContext(ServerContext context, TTransport in, TTransport out) {}
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 2 && args.length != 3) {
            System.err.println("usage: LoopbackMetastore HOST PORT [IDLE_SECONDS]");
            System.exit(2);
        }
        String host = args[0];
        int port = Integer.parseInt(args[1]);
        long idleSeconds = args.length == 3 ? Long.parseLong(args[2]) : 0;
        HiveConf conf = new HiveConf(HiveMetaStore.HMSHandler.class);
        IHMSHandler handler = (IHMSHandler) HiveMetaStore.newRetryingHMSHandler("headwater metastore", conf, true);
        TServerSocket socket = new TServerSocket(new InetSocketAddress(InetAddress.getByName(host), port));
        TThreadPoolServer.Args serverArgs = new TThreadPoolServer.Args(socket)
            .processor(new TSetIpAddressProcessor<IHMSHandler>(handler))
            .transportFactory(new TTransportFactory())
            .protocolFactory(new TBinaryProtocol.Factory())
            .minWorkerThreads(conf.getIntVar(HiveConf.ConfVars.METASTORESERVERMINTHREADS))
            .maxWorkerThreads(conf.getIntVar(HiveConf.ConfVars.METASTORESERVERMAXTHREADS));
        TServer server = new TThreadPoolServer(serverArgs);
        Connections connections = new Connections();
        server.setServerEventHandler(connections);
        Runtime.getRuntime().addShutdownHook(new Thread(server::stop));
        if (idleSeconds > 0) {
            Thread watch = new Thread(() -> {
                long limit = idleSeconds * 1_000_000_000L;
                while (true) {
                    try {
                        Thread.sleep(Math.min(1000L, idleSeconds * 1000L));
                    } catch (InterruptedException e) {
                        return;
                    }
                    if (connections.open.get() == 0
                            && System.nanoTime() - connections.idleSince.get() > limit) {
                        System.out.println("headwater metastore: no client for " + idleSeconds
                            + " s, stopping");
                        System.exit(0);
                    }
                }
            }, "idle-watch");
            watch.setDaemon(true);
            watch.start();
        }
        System.out.println("headwater metastore serving on " + host + ":" + port);
        server.serve();
    }
}
