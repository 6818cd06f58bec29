# Build: a static binary.
FROM golang:1.26 AS builder
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd/ cmd/
COPY pkg/ pkg/
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /webhook ./cmd/webhook

# Run: distroless, non-root. The same image is the injected install-helper.
FROM gcr.io/distroless/static:nonroot
COPY --from=builder /webhook /webhook
USER 65532:65532
ENTRYPOINT ["/webhook"]
