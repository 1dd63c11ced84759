# Multi-stage build. The build stage runs the same scripts CI runs: scripts/deps.sh (libpcap
# headers) and scripts/build.sh.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY scripts/deps.sh scripts/deps.sh
RUN bash scripts/deps.sh
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN bash scripts/build.sh /out/ids

# Runtime: libpcap and the binary, run as an unprivileged user. The binary carries the file
# capabilities it needs to open a capture (raw sockets, promiscuous mode), so the container
# needs only --cap-add NET_RAW --cap-add NET_ADMIN, never root.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpcap0.8 libcap2-bin \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin ids \
 && install -d -o ids -g ids -m 0750 /var/log/ids
COPY --from=build /out/ids /usr/local/bin/ids
RUN setcap cap_net_raw,cap_net_admin+ep /usr/local/bin/ids
COPY rules/default.yaml /etc/ids/rules.yaml
USER ids
EXPOSE 9750
ENTRYPOINT ["/usr/local/bin/ids"]
CMD ["help"]
