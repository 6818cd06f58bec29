# Build: a static binary.
FROM golang:1.26 AS builder
ARG TARGETOS
ARG TARGETARCH
WORKDIR /workspace

# Modules first, in their own layer: cached until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download

COPY cmd/ cmd/
COPY internal/ internal/
COPY pkg/ pkg/
RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags="-s -w" -o /webhook ./cmd/webhook && \
    CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags="-s -w" -o /helper ./cmd/helper

# Run: distroless, non-root. The same image is the injected helper
# image (HELPER_IMAGE): its init container copies /helper into MariaDB pods.
# It holds nothing but the two binaries.
FROM gcr.io/distroless/static:nonroot
WORKDIR /
COPY --from=builder /webhook /webhook
COPY --from=builder /helper /helper
USER 65532:65532
ENTRYPOINT ["/webhook"]
