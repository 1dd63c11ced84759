# Multi-stage build. The build stage runs scripts/build.sh, the same command CI runs.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN bash scripts/build.sh /out/ids

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin ids
COPY --from=build /out/ids /usr/local/bin/ids
COPY rules/default.yaml /etc/ids/rules.yaml
USER ids
ENTRYPOINT ["/usr/local/bin/ids"]
CMD ["help"]
