"""The native stack: PostgreSQL, the Hive metastore, MinIO and the Spark Thrift Server
started from Debian packages, the pyspark wheel, cached jars and a MinIO built from
source — no Docker. :mod:`engine.stack.launcher` is the one entry point."""
