# headwater itself: Python 3.11, a JDK 17, the pinned packages and the cached jars.
FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends \
        openjdk-17-jdk-headless procps \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/headwater
COPY pyproject.toml constraints.txt README.md ./
COPY engine engine
COPY catalog catalog
COPY jobs jobs
RUN pip install --no-cache-dir -c constraints.txt . \
    && headwater stack setup --no-minio
ENV HEADWATER_PROFILE=stack
