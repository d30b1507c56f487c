# predstore-server in a container.
#   docker build -t predstore .
#   docker run -p 50051:50051 -p 8080:8080 -v "$PWD/data:/data" predstore
# The build stage installs with the same install-deps.sh as the README and CI.

FROM debian:bookworm AS build
WORKDIR /src
COPY install-deps.sh .
RUN ./install-deps.sh
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DPREDSTORE_BUILD_TESTS=OFF -DPREDSTORE_BUILD_BENCH=OFF \
 && cmake --build /build -j"$(nproc)" --target predstore-server predstore-load predstore-cli

FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libabsl20220623 libgrpc++1.51 libgrpc29 libprotobuf32 librocksdb7.8 libsimdjson14 \
      libc-ares2 libre2-9 libssl3 libgflags2.2 liblz4-1 libsnappy1v5 libzstd1 libbz2-1.0 zlib1g libbrotli1 \
      libxgboost0 libgomp1 librdkafka1 libyaml-cpp0.7 libsqlite3-0 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data predstore \
 && mkdir /data && chown predstore /data
COPY --from=build /build/server/predstore-server /build/loader/predstore-load /build/client/predstore-cli /usr/local/bin/
USER predstore
VOLUME /data
# gRPC, and HTTP (REST lookups, MLflow's /invocations, /health/ready).
EXPOSE 50051 8080
# gRPC health of the whole server; exits 1 when NOT_SERVING or unreachable.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s \
  CMD ["predstore-cli", "--server=127.0.0.1:50051", "--timeout_ms=2000", "health"]
# Listening beyond loopback, the server needs the admin token (a file only
# its user may read, e.g. a mounted secret); see README. Add
# --http_default_model=models:/<name>/<stage> (with --model_registry) to
# serve MLflow's /invocations.
ENTRYPOINT ["predstore-server", "--data_dir=/data", "--listen=0.0.0.0:50051", "--http_listen=0.0.0.0:8080", \
            "--admin_token_file=/run/secrets/predstore_admin_token"]
