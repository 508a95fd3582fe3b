/*
 * Serves the Hive metastore (the pyspark wheel's hive-metastore 2.3.10) on one
 * address only. HiveMetaStore.main in Hive 2.3 always binds every interface;
 * headwater keeps its services on loopback, so it builds the same handler and
 * processor HiveMetaStore.startMetaStore builds and serves them on a socket
 * bound to the given host.
 *
 * Compiled once by `headwater stack jars` (make setup) into the jar cache.
 * Usage: java -cp <conf>:<spark jars>/*:<cache> LoopbackMetastore HOST PORT
 */

import java.net.InetAddress;
import java.net.InetSocketAddress;

import org.apache.hadoop.hive.conf.HiveConf;
import org.apache.hadoop.hive.metastore.HiveMetaStore;
import org.apache.hadoop.hive.metastore.IHMSHandler;
import org.apache.hadoop.hive.metastore.TSetIpAddressProcessor;
import org.apache.thrift.protocol.TBinaryProtocol;
import org.apache.thrift.server.TServer;
import org.apache.thrift.server.TThreadPoolServer;
import org.apache.thrift.transport.TServerSocket;
import org.apache.thrift.transport.TTransportFactory;

public final class LoopbackMetastore {
    private LoopbackMetastore() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: LoopbackMetastore HOST PORT");
            System.exit(2);
        }
        String host = args[0];
        int port = Integer.parseInt(args[1]);
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
        Runtime.getRuntime().addShutdownHook(new Thread(server::stop));
        System.out.println("headwater metastore serving on " + host + ":" + port);
        server.serve();
    }
}
