# hookd in a container: a static binary (no cgo: the SQLite driver is pure Go)
# on a distroless base that has CA certificates and a non-root user, and
# nothing else (no shell).
#
#   docker build -t hookd --build-arg VERSION=v1.0.0 --build-arg COMMIT=$(git rev-parse --short HEAD) .
#   docker run -p 8080:8080 -v hookd-data:/var/lib/hookd -e HOOKD_ADMIN_API_KEY=admin.<secret> hookd
#
# The SQLite database is /var/lib/hookd/hookd.db, in the volume. For
# PostgreSQL set HOOKD_DATABASE=postgres://... and run as many as you like.

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/hookd/hookd.Version=${VERSION} -X github.com/hookd/hookd.Commit=${COMMIT}" \
      -o /out/hookd ./cmd/hookd \
 && /out/hookd version \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/hookd /usr/local/bin/hookd
# The volume's mount point, owned by the nonroot user (65532) so that a new
# named volume is writable.
COPY --from=build --chown=65532:65532 /out/data /var/lib/hookd
USER 65532:65532
WORKDIR /var/lib/hookd
ENV HOOKD_ADDR=0.0.0.0:8080 \
    HOOKD_DATABASE=/var/lib/hookd/hookd.db \
    HOOKD_LOG_FORMAT=json
VOLUME ["/var/lib/hookd"]
EXPOSE 8080
# Liveness: GET /healthz; readiness: GET /readyz; metrics: GET /metrics.
# hookd stops gracefully on SIGTERM (--shutdown-grace: --timeout + 5s, 20s by default).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/hookd"]
CMD ["serve"]
