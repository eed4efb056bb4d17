#include "http/server.h"

// Boost 1.74's asio uses std::exchange without including <utility>.
#include <utility>

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <limits>
#include <mutex>
#include <set>
#include <thread>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace bucketd::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

int64_t MonotonicNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class ServerImpl;

struct Connection {
  Connection(ServerImpl& s, tcp::socket sock, asio::ssl::context* tls_context)
      : server(s), socket(std::move(sock)), timer(socket.get_executor()) {
    if (tls_context != nullptr) tls.emplace(std::move(socket), *tls_context);
  }
  ~Connection();
  // The TCP socket, under TLS or not.
  tcp::socket& tcp_socket() { return tls ? tls->next_layer() : socket; }
  // Calls f with the stream the HTTP bytes travel on.
  template <class F>
  auto WithStream(F&& f) {
    return tls ? f(*tls) : f(socket);
  }
  ServerImpl& server;
  tcp::socket socket;  // moved into `tls` when the endpoint serves https
  std::optional<asio::ssl::stream<tcp::socket>> tls;
  asio::steady_timer timer;  // the header's deadline (I/O thread only)
  beast::flat_buffer buffer;
  std::optional<bhttp::request_parser<bhttp::buffer_body>> parser;
  int header_generation = 0;  // tells a stale timer from the current one (I/O thread only)
  bool reading_header = false;
  // While on a worker: when its blocking read or write must be over (0: none).
  std::atomic<int64_t> deadline_ns{0};
  std::string remote_ip;
};

using ConnectionPtr = std::shared_ptr<Connection>;

class ServerImpl final : public Server {
 public:
  ServerImpl(Handler handler, const ServerOptions& options)
      : handler_(std::move(handler)), options_(options), acceptor_(ioc_), reaper_(ioc_) {}
  ~ServerImpl() override { Stop(); }

  Status Start(tcp::acceptor::native_handle_type adopted, const tcp::endpoint& endpoint) {
    beast::error_code ec;
    if (!options_.tls_certificate_pem.empty()) {
      tls_context_.emplace(asio::ssl::context::tls_server);
      tls_context_->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                                asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                                asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
      const std::string& cert = options_.tls_certificate_pem;
      const std::string& key = options_.tls_key_pem;
      tls_context_->use_certificate_chain(asio::buffer(cert.data(), cert.size()), ec);
      if (ec) return Status::InvalidArgument("the TLS certificate: " + ec.message() + " (expected PEM)");
      tls_context_->use_private_key(asio::buffer(key.data(), key.size()), asio::ssl::context::pem, ec);
      if (ec) return Status::InvalidArgument("the TLS key: " + ec.message() + " (expected a PEM private key)");
      if (SSL_CTX_check_private_key(tls_context_->native_handle()) != 1) {
        return Status::InvalidArgument("the TLS key does not belong to the certificate");
      }
    }
    if (adopted >= 0) {
      sockaddr_storage ss{};
      socklen_t len = sizeof(ss);
      if (::getsockname(adopted, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
        return Status::FromErrno("getsockname on the API socket", errno);
      }
      acceptor_.assign(ss.ss_family == AF_INET6 ? tcp::v6() : tcp::v4(), adopted, ec);
      if (ec) return Status::InvalidArgument("the API socket is no TCP listening socket: " + ec.message());
    } else {
      acceptor_.open(endpoint.protocol(), ec);
      if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
      if (!ec) acceptor_.bind(endpoint, ec);
      if (!ec) acceptor_.listen(1024, ec);
      if (ec) {
        return Status::Unavailable("cannot listen on " + endpoint.address().to_string() + ":" +
                                   std::to_string(endpoint.port()) + ": " + ec.message());
      }
    }
    bound_ = acceptor_.local_endpoint(ec);
    if (ec) return Status::IOError("the API socket's address: " + ec.message());
    Accept();
    Reap();
    for (int i = 0; i < std::max(1, options_.workers); ++i) workers_.emplace_back([this] { WorkerLoop(); });
    io_thread_ = std::thread([this] { ioc_.run(); });
    return Status::OK();
  }

  std::string address() const override {
    std::string a = bound_.address().to_string();
    if (bound_.address().is_v6()) a = "[" + a + "]";
    return a + ":" + std::to_string(bound_.port());
  }
  uint16_t port() const override { return bound_.port(); }
  bool tls() const override { return tls_context_.has_value(); }

  void ConnectionGone() { connections_.fetch_sub(1); }
  // A kept-alive connection goes back to waiting for its next request.
  void Resume(ConnectionPtr c) {
    asio::post(ioc_, [this, c = std::move(c)]() mutable { ReadHeader(std::move(c)); });
  }
  const ServerOptions& options() const { return options_; }

 private:
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
      // Workers blocked on a client are let go.
      for (Connection* c : active_) ::shutdown(c->tcp_socket().native_handle(), SHUT_RDWR);
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    ioc_.stop();
    if (io_thread_.joinable()) io_thread_.join();
    std::lock_guard<std::mutex> lock(mu_);
    queue_.clear();
  }

  void Accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) {
        if (connections_.load() >= options_.max_connections) {
          beast::error_code ignored;
          socket.close(ignored);
        } else {
          connections_.fetch_add(1);
          beast::error_code ignored;
          auto remote = socket.remote_endpoint(ignored);
          socket.set_option(tcp::no_delay(true), ignored);
          auto c = std::make_shared<Connection>(*this, std::move(socket), tls_context_ ? &*tls_context_ : nullptr);
          c->remote_ip = remote.address().is_v4() || !remote.address().to_v6().is_v4_mapped()
                             ? remote.address().to_string()
                             : remote.address().to_v6().to_v4().to_string();
          if (c->tls) {
            Handshake(std::move(c));
          } else {
            ReadHeader(std::move(c));
          }
        }
      } else {
        // EMFILE and the like: pause a little rather than spin.
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      Accept();
    });
  }

  // The TLS handshake, on the I/O thread under the header's deadline (a
  // client that never finishes it costs a socket, not a thread).
  void Handshake(ConnectionPtr c) {
    int generation = ++c->header_generation;
    c->reading_header = true;
    WatchHeaderDeadline(c, generation);
    c->tls->async_handshake(asio::ssl::stream_base::server, [this, c](beast::error_code ec) {
      c->reading_header = false;
      c->timer.cancel();
      if (!ec) ReadHeader(c);
    });
  }

  void WatchHeaderDeadline(const ConnectionPtr& c, int generation) {
    c->timer.expires_after(std::chrono::nanoseconds(options_.header_timeout_ns));
    c->timer.async_wait([c, generation](beast::error_code ec) {
      if (ec || !c->reading_header || c->header_generation != generation) return;
      beast::error_code ignored;
      c->tcp_socket().close(ignored);  // idle too long, or a header that trickles in
    });
  }

  void ReadHeader(ConnectionPtr c) {
    c->parser.emplace();
    c->parser->header_limit(static_cast<uint32_t>(options_.max_header_bytes));
    c->parser->body_limit(std::numeric_limits<std::uint64_t>::max());
    int generation = ++c->header_generation;
    c->reading_header = true;
    WatchHeaderDeadline(c, generation);
    c->WithStream([&](auto& stream) {
      bhttp::async_read_header(stream, c->buffer, *c->parser,
                               [this, c](beast::error_code ec, size_t) { OnHeader(c, ec); });
    });
  }

  void OnHeader(const ConnectionPtr& c, beast::error_code ec) {
    c->reading_header = false;
    c->timer.cancel();
    if (!ec) {
      Enqueue(c);
      return;
    }
    const char* answer = nullptr;
    if (ec == bhttp::error::header_limit) {
      answer = "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    } else if (ec.category() == bhttp::make_error_code(bhttp::error::end_of_stream).category() && ec != bhttp::error::end_of_stream &&
               ec != bhttp::error::partial_message) {
      answer = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    }
    if (answer == nullptr) return;  // closed, timed out
    c->WithStream([&](auto& stream) {
      asio::async_write(stream, asio::buffer(answer, std::strlen(answer)), [c](beast::error_code, size_t) {
        beast::error_code ignored;
        c->tcp_socket().shutdown(tcp::socket::shutdown_both, ignored);
      });
    });
  }

  void Enqueue(ConnectionPtr c) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      queue_.push_back(std::move(c));
    }
    cv_.notify_one();
  }

  void Reap() {
    reaper_.expires_after(std::chrono::milliseconds(250));
    reaper_.async_wait([this](beast::error_code ec) {
      if (ec) return;
      int64_t now = MonotonicNanos();
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (Connection* c : active_) {
          int64_t d = c->deadline_ns.load();
          if (d != 0 && d < now) ::shutdown(c->tcp_socket().native_handle(), SHUT_RDWR);
        }
      }
      Reap();
    });
  }

  void WorkerLoop();

  Handler handler_;
  const ServerOptions options_;
  // Before ioc_: the connections its pending handlers hold count down as
  // ioc_ is destroyed.
  std::atomic<int> connections_{0};
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::optional<asio::ssl::context> tls_context_;  // https when set
  asio::steady_timer reaper_;
  tcp::endpoint bound_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<ConnectionPtr> queue_;
  std::set<Connection*> active_;  // on a worker now
  bool stopping_ = false;
  std::vector<std::thread> workers_;
  std::thread io_thread_;
};

Connection::~Connection() { server.ConnectionGone(); }

class ExchangeImpl final : public Exchange {
 public:
  ExchangeImpl(Connection& c, const ServerOptions& options) : c_(c), options_(options) {
    auto& msg = c.parser->get();
    request_.method = std::string(msg.method_string());
    request_.target = std::string(msg.target());
    for (const auto& f : msg) {
      std::string name(f.name_string());
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char ch) { return std::tolower(ch); });
      request_.headers.push_back({std::move(name), std::string(f.value())});
    }
    request_.remote_ip = c.remote_ip;
    request_.tls = c.tls.has_value();
    if (c.tls) {
      request_.tls_version = SSL_get_version(c.tls->native_handle());
      request_.tls_cipher = SSL_CIPHER_get_name(SSL_get_current_cipher(c.tls->native_handle()));
    }
    request_.chunked = c.parser->chunked();
    if (auto n = c.parser->content_length()) request_.content_length = *n;
    if (const std::string* e = request_.Find("expect")) {
      request_.expects_continue = beast::iequals(*e, "100-continue");
    }
  }

  const Request& request() const override { return request_; }

  Status Continue() override {
    if (!request_.expects_continue || continue_sent_ || responded_ || c_.parser->is_done()) return Status::OK();
    // Body bytes already here: the client stopped waiting (botocore waits
    // one second); a late 100 would only cross its body (RFC 9110 15.2.1).
    if (c_.buffer.size() > 0) {
      continue_sent_ = true;
      return Status::OK();
    }
    continue_sent_ = true;
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    return WriteRaw(kContinue);
  }

  // Fills `buf` (or reaches the body's end): a caller that writes what it
  // reads then writes in big pieces, not one per TCP segment.
  Result<size_t> ReadBody(char* buf, size_t n) override {
    auto& p = *c_.parser;
    if (p.is_done() || n == 0) return size_t{0};
    RETURN_IF_ERROR(Continue());
    size_t got = 0;
    while (got < n && !p.is_done()) {
      p.get().body().data = buf + got;
      p.get().body().size = n - got;
      beast::error_code ec;
      Arm();
      c_.WithStream([&](auto& stream) { bhttp::read_some(stream, c_.buffer, p, ec); });
      Disarm();
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec) {
        broken_ = true;
        return Status::IOError("reading the request body: " + ec.message());
      }
      got = n - p.get().body().size;
    }
    return got;
  }

  Status Respond(const Response& head, std::string_view body) override {
    RETURN_IF_ERROR(StartBody(head, body.size()));
    return WriteBody(body);
  }

  Status StartBody(const Response& head, uint64_t length) override {
    if (responded_) return Status::InvalidArgument("an answer was sent already");
    if (request_.expects_continue && !continue_sent_ && c_.parser->is_done()) {
      // An empty body the client holds back for our 100: botocore, told
      // the final answer instead, leaves its pooled connection unusable for
      // the next request, so the 100 goes first, as if the body were read.
      continue_sent_ = true;
      RETURN_IF_ERROR(WriteRaw("HTTP/1.1 100 Continue\r\n\r\n"));
    }
    responded_ = true;
    bhttp::response<bhttp::empty_body> res{static_cast<bhttp::status>(head.status), 11};
    for (const Header& h : head.headers) res.insert(h.name, h.value);
    res.set(bhttp::field::content_length, std::to_string(length));
    keep_alive_ = !head.close && c_.parser->keep_alive();
    res.keep_alive(keep_alive_);
    body_left_ = request_.method == "HEAD" ? 0 : length;
    // The header waits for the body's first piece, so that a small answer
    // leaves in one write (one segment) rather than two.
    bhttp::response_serializer<bhttp::empty_body> sr{res};
    sr.split(true);
    beast::error_code ec;
    pending_header_.clear();
    while (!ec && !sr.is_header_done()) {
      sr.next(ec, [&](beast::error_code&, const auto& buffers) {
        for (const auto b : beast::buffers_range_ref(buffers)) {
          pending_header_.append(static_cast<const char*>(b.data()), b.size());
        }
        sr.consume(beast::buffer_bytes(buffers));
      });
    }
    if (ec) {
      broken_ = true;
      return Status::InvalidArgument("serializing the answer's header: " + ec.message());
    }
    if (body_left_ == 0) return FlushHeader();
    return Status::OK();
  }

  Status WriteBody(std::string_view data) override {
    if (request_.method == "HEAD" || data.empty()) return Status::OK();
    if (data.size() > body_left_) return Status::InvalidArgument("more body than the announced Content-Length");
    body_left_ -= data.size();
    return WriteRaw(data);
  }

  bool responded() const override { return responded_; }

  // After the handler: whether the connection can carry the next request.
  bool Finish() {
    if (!responded_) {
      Response r;
      r.status = 500;
      r.close = true;
      (void)Respond(r, "");
      return false;
    }
    // A handler that announced a body and gave up: the client sees the
    // header and a short body, then the close.
    if (!broken_) (void)FlushHeader();
    if (broken_ || body_left_ != 0 || !keep_alive_) return false;
    auto& p = *c_.parser;
    if (p.is_done()) return true;
    // The client was told no "100 Continue": it sends no body.
    if (request_.expects_continue && !continue_sent_) return true;
    // Read away a small unread body so the connection stays usable.
    char scratch[16 << 10];
    size_t drained = 0;
    while (!p.is_done()) {
      auto n = ReadBody(scratch, sizeof(scratch));
      if (!n.ok()) return false;
      drained += *n;
      if (drained > options_.drain_limit_bytes) return false;
    }
    return true;
  }

 private:
  void Arm() { c_.deadline_ns.store(MonotonicNanos() + options_.io_timeout_ns); }
  void Disarm() { c_.deadline_ns.store(0); }

  // Writes `data` after the header still waiting, in one gathered write.
  Status WriteRaw(std::string_view data) {
    beast::error_code ec;
    Arm();
    std::array<asio::const_buffer, 2> pieces{asio::buffer(pending_header_), asio::buffer(data.data(), data.size())};
    c_.WithStream([&](auto& stream) { asio::write(stream, pieces, ec); });
    Disarm();
    pending_header_.clear();
    if (ec) {
      broken_ = true;
      return Status::IOError("writing the answer: " + ec.message());
    }
    return Status::OK();
  }

  Status FlushHeader() { return pending_header_.empty() ? Status::OK() : WriteRaw(""); }

  Connection& c_;
  const ServerOptions& options_;
  Request request_;
  bool continue_sent_ = false;
  bool responded_ = false;
  bool keep_alive_ = false;
  bool broken_ = false;
  uint64_t body_left_ = 0;
  std::string pending_header_;  // serialized, not yet sent
};

void ServerImpl::WorkerLoop() {
  for (;;) {
    ConnectionPtr c;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      c = std::move(queue_.front());
      queue_.pop_front();
      active_.insert(c.get());
    }
    bool keep = false;
    {
      ExchangeImpl exchange(*c, options_);
      try {
        handler_(exchange);
      } catch (...) {
        // The handler's own failure: the client gets a 500 (Finish), the
        // server goes on.
      }
      keep = exchange.Finish();
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      active_.erase(c.get());
      if (stopping_) return;
    }
    if (keep) {
      Resume(std::move(c));
    } else {
      beast::error_code ignored;
      c->tcp_socket().shutdown(tcp::socket::shutdown_both, ignored);
    }
  }
}

}  // namespace

const std::string* Request::Find(std::string_view lower_name) const {
  for (const Header& h : headers) {
    if (h.name == lower_name) return &h.value;
  }
  return nullptr;
}

Result<std::pair<std::string, uint16_t>> ParseListenAddress(std::string_view address) {
  std::string host;
  std::string_view port;
  if (!address.empty() && address.front() == '[') {
    size_t close = address.find(']');
    if (close == std::string_view::npos || close + 1 >= address.size() || address[close + 1] != ':') {
      return Status::InvalidArgument("listen address '" + std::string(address) + "': expected [IPV6]:PORT");
    }
    host = std::string(address.substr(1, close - 1));
    port = address.substr(close + 2);
  } else {
    size_t colon = address.rfind(':');
    if (colon == std::string_view::npos) {
      return Status::InvalidArgument("listen address '" + std::string(address) + "': expected ADDR:PORT");
    }
    host = std::string(address.substr(0, colon));
    port = address.substr(colon + 1);
  }
  if (host == "localhost") host = "127.0.0.1";
  beast::error_code ec;
  asio::ip::make_address(host, ec);
  if (ec) {
    return Status::InvalidArgument("listen address '" + std::string(address) + "': '" + host +
                                   "' is no IP address");
  }
  if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), ::isdigit) ||
      std::stoi(std::string(port)) > 65535) {
    return Status::InvalidArgument("listen address '" + std::string(address) + "': expected a port 0-65535");
  }
  return std::make_pair(host, static_cast<uint16_t>(std::stoi(std::string(port))));
}

Result<std::unique_ptr<Server>> Server::Listen(const std::string& address, Handler handler,
                                               const ServerOptions& options) {
  ASSIGN_OR_RETURN(auto parsed, ParseListenAddress(address));
  auto server = std::make_unique<ServerImpl>(std::move(handler), options);
  RETURN_IF_ERROR(server->Start(-1, tcp::endpoint(asio::ip::make_address(parsed.first), parsed.second)));
  return std::unique_ptr<Server>(std::move(server));
}

Result<std::unique_ptr<Server>> Server::Adopt(int listen_fd, Handler handler, const ServerOptions& options) {
  auto server = std::make_unique<ServerImpl>(std::move(handler), options);
  RETURN_IF_ERROR(server->Start(listen_fd, {}));
  return std::unique_ptr<Server>(std::move(server));
}

}  // namespace bucketd::http
