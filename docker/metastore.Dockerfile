# The Hive metastore image in metastore mode, plus the PostgreSQL JDBC driver it lacks.
FROM apache/hive:4.0.1
ADD --chown=hive https://repo1.maven.org/maven2/org/postgresql/postgresql/42.7.14/postgresql-42.7.14.jar /opt/hive/lib/
