// http: bucketd's HTTP/1.1 server core, for the AWS API endpoint (api/) and
// later the Lambda Runtime API. Built on Boost.Beast, kept behind this header
// so that only server.cc pays Beast's compile time.
//
// Shape: one I/O thread accepts connections and reads request headers
// asynchronously, so idle keep-alive connections and slow (slowloris) clients
// cost a socket and a buffer, never a thread; a request whose header is
// complete goes to a pool of worker threads, where the handler reads the body
// and writes the answer synchronously, streaming (a multi-GB PutObject or
// GetObject is never held in memory). Every blocking read or write on a
// worker has a deadline; a reaper on the I/O thread shuts the socket of an
// exchange past it, so a client that stops sending holds a worker for at
// most that long. The handler decides when "100 Continue" goes out (after it
// has authenticated the header), or answers at once without it.
//
// Thread-safety: the Server is made and destroyed by one thread; handlers
// run on the worker threads, several at once.
#ifndef BUCKETD_HTTP_SERVER_H_
#define BUCKETD_HTTP_SERVER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace bucketd::http {

struct Header {
  std::string name;  // lower case in a Request
  std::string value;
};

struct Request {
  std::string method;
  std::string target;  // the request-target as sent ("/bucket/key?query")
  std::vector<Header> headers;
  std::string remote_ip;
  bool tls = false;  // came over https
  std::string tls_version, tls_cipher;  // "TLSv1.3", "TLS_AES_256_GCM_SHA384"
  bool expects_continue = false;
  bool chunked = false;                     // Transfer-Encoding: chunked (decoded by the server)
  std::optional<uint64_t> content_length;   // when sent
  // The first header named `lower_name`, or nullptr.
  const std::string* Find(std::string_view lower_name) const;
};

struct Response {
  int status = 200;
  std::vector<Header> headers;
  bool close = false;  // Connection: close after this answer
};

// One request and its answer, on a worker thread.
class Exchange {
 public:
  virtual ~Exchange() = default;
  virtual const Request& request() const = 0;
  // Sends "100 Continue" when the client asked for it and it was not sent
  // yet. ReadBody sends it too, before the first read.
  virtual Status Continue() = 0;
  // Reads n body bytes (fewer only at its end); 0 at the end. An error when the client broke
  // the framing, closed, or sent nothing within the deadline.
  virtual Result<size_t> ReadBody(char* buf, size_t n) = 0;
  // A whole answer with Content-Length = body.size().
  virtual Status Respond(const Response& head, std::string_view body) = 0;
  // A streamed answer: the header with Content-Length = length, then the
  // body in WriteBody calls totalling exactly `length` bytes (none for
  // HEAD: `length` is then what GET would send).
  virtual Status StartBody(const Response& head, uint64_t length) = 0;
  virtual Status WriteBody(std::string_view data) = 0;
  virtual bool responded() const = 0;
};

using Handler = std::function<void(Exchange&)>;

struct ServerOptions {
  size_t max_header_bytes = 16 << 10;    // request line + headers; more: 431 and close
  int max_connections = 4096;            // beyond: accepted and closed at once
  // Requests handled at once; more wait (an SDK's ten upload threads times
  // a few clients must not queue past botocore's one-second wait for 100).
  int workers = 64;
  int64_t header_timeout_ns = 30'000'000'000;  // idle keep-alive or a header that trickles in
  int64_t io_timeout_ns = 60'000'000'000;      // one body read or answer write
  size_t drain_limit_bytes = 1 << 20;    // an unread body up to this is read away to keep the connection
  // https when set: the certificate chain and its private key, PEM text
  // (read by the caller from its credentials; the server opens no file).
  std::string tls_certificate_pem;
  std::string tls_key_pem;
};

class Server {
 public:
  virtual ~Server() = default;
  // Listens on "ADDR:PORT" ("127.0.0.1:4566", "[::1]:0"; port 0 picks one).
  static Result<std::unique_ptr<Server>> Listen(const std::string& address, Handler handler,
                                                const ServerOptions& options = {});
  // Serves on a listening TCP socket it is given (systemd socket activation).
  static Result<std::unique_ptr<Server>> Adopt(int listen_fd, Handler handler, const ServerOptions& options = {});
  // "ADDR:PORT" actually bound.
  virtual std::string address() const = 0;
  virtual uint16_t port() const = 0;
  virtual bool tls() const = 0;
};

// "ADDR:PORT" -> (addr, port); InvalidArgument naming what was expected.
Result<std::pair<std::string, uint16_t>> ParseListenAddress(std::string_view address);

}  // namespace bucketd::http

#endif  // BUCKETD_HTTP_SERVER_H_
