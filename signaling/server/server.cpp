#include "server.hpp"

#include "directory_factory.hpp"
#include "message_log.hpp"
#include "protocol/parse.hpp"
#include "protocol/serialize.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace webrtccall::server {

struct Server::Accepted {
  Server *server;
  GSocketConnection *socket; // weak: the entry goes when it is finalized
  std::string address;       // remote IP, for the per-address count
  std::string peer;          // remote "ip:port", to find the entry from an HTTP request
  GSourcePtr handshake_deadline;
  GObjectPtr<GSocketAddress> local, remote; // for SoupServer once TLS is up
};

namespace {

// How long stop() waits for clients to answer the close frame.
constexpr guint kStopGraceMs = 2000;

std::string address_string(GSocketAddress *address, bool with_port) {
  if (!G_IS_INET_SOCKET_ADDRESS(address))
    return "unknown";
  if (with_port) {
    g_autofree char *text = g_socket_connectable_to_string(G_SOCKET_CONNECTABLE(address));
    return text;
  }
  GInetAddress *inet = g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(address));
  g_autofree char *text = g_inet_address_to_string(inet);
  return text;
}

bool is_websocket_upgrade(SoupServerMessage *message) {
  SoupMessageHeaders *headers = soup_server_message_get_request_headers(message);
  return soup_message_headers_header_contains(headers, "Upgrade", "websocket");
}

// Content types for what a web client is made of; browsers refuse scripts
// served with a guessed type, and shared-mime-info may be missing.
const char *content_type_for(const char *path) {
  static const std::pair<const char *, const char *> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".txt", "text/plain; charset=utf-8"},
  };
  for (const auto &[suffix, type] : kTypes)
    if (g_str_has_suffix(path, suffix))
      return type;
  return "application/octet-stream";
}

void respond_text(SoupServerMessage *message, guint status, const char *type,
                  const std::string &body) {
  soup_server_message_set_status(message, status, nullptr);
  soup_server_message_set_response(message, type, SOUP_MEMORY_COPY, body.data(), body.size());
}

} // namespace

Server::Server(ServerOptions options)
    : options_(std::move(options)), directory_(make_directory(options_.redis_url)),
      router_(*this,
              RouterOptions{options_.presence, options_.ice_servers, options_.auth_secret,
                            options_.turn},
              directory_.get()) {}

Server::~Server() {
  connections_.clear();
  for (auto &[socket, accepted] : accepted_)
    g_object_weak_unref(G_OBJECT(socket), on_socket_finalized, accepted.get());
  if (service_)
    g_socket_service_stop(service_.get());
}

bool Server::start(GError **error, std::function<void()> ready) {
  if (!options_.tls_certificate.empty() || !options_.tls_key.empty()) {
    certificate_ = adopt(g_tls_certificate_new_from_files(options_.tls_certificate.c_str(),
                                                          options_.tls_key.c_str(), error));
    if (!certificate_)
      return false;
  }
  soup_ = adopt(SOUP_SERVER(g_object_new(SOUP_TYPE_SERVER, "server-header",
                                         "webrtccall-signaling/" WEBRTCCALL_VERSION, nullptr)));
  soup_server_add_handler(soup_.get(), nullptr, on_request, this, nullptr);
  poller_ = std::make_unique<SocketPoller>(g_main_context_get_thread_default());

  service_ = adopt(g_socket_service_new());
  GSocketListener *listener = G_SOCKET_LISTENER(service_.get());
  // GLib's default backlog is 10. When more clients connect at once (a
  // server restart: every client reconnects), the kernel drops the rest of
  // the handshakes and the clients wait out SYN retransmissions, seconds to
  // minutes, or are reset (docs/benchmarks.md, "Signaling"). The kernel caps
  // this at net.core.somaxconn. Set before any port is added, as GLib asks.
  g_socket_listener_set_backlog(listener, SOMAXCONN);
  if (options_.host.empty()) {
    if (options_.port == 0) {
      port_ = g_socket_listener_add_any_inet_port(listener, nullptr, error);
      if (port_ == 0)
        return false;
    } else {
      if (!g_socket_listener_add_inet_port(listener, options_.port, nullptr, error))
        return false;
      port_ = options_.port;
    }
  } else {
    g_autoptr(GInetAddress) inet = g_inet_address_new_from_string(options_.host.c_str());
    if (!inet) {
      g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "--host %s is not an IP address",
                  options_.host.c_str());
      return false;
    }
    g_autoptr(GSocketAddress) address = g_inet_socket_address_new(inet, options_.port);
    g_autoptr(GSocketAddress) bound = nullptr;
    if (!g_socket_listener_add_address(listener, address, G_SOCKET_TYPE_STREAM,
                                       G_SOCKET_PROTOCOL_TCP, nullptr, &bound, error))
      return false;
    port_ = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
  }
  g_signal_connect(service_.get(), "incoming", G_CALLBACK(on_incoming), this);
  g_socket_service_start(service_.get());
  if (!options_.turn.secret.empty()) {
    // Fresh TURN credentials at half their lifetime, so nobody's expire.
    turn_refresh_.reset(g_timeout_source_new_seconds(std::max(1u, options_.turn.ttl_seconds / 2)));
    g_source_set_callback(
        turn_refresh_.get(),
        +[](gpointer data) -> gboolean {
          static_cast<Server *>(data)->router_.refresh_ice_servers();
          return G_SOURCE_CONTINUE;
        },
        this, nullptr);
    g_source_attach(turn_refresh_.get(), g_main_context_get_thread_default());
  }
  directory_->start([ready = std::move(ready)] {
    if (ready)
      ready();
  });
  return true;
}

std::string Server::url() const {
  std::string host = options_.host;
  if (host.empty() || host == "0.0.0.0")
    host = "127.0.0.1";
  else if (host == "::")
    host = "[::1]";
  else if (host.find(':') != std::string::npos)
    host = "[" + host + "]";
  return std::string(certificate_ ? "wss://" : "ws://") + host + ":" + std::to_string(port_) + "/";
}

gboolean Server::on_incoming(GSocketService *, GSocketConnection *socket, GObject *,
                             gpointer data) {
  auto *self = static_cast<Server *>(data);
  g_autoptr(GSocketAddress) remote = g_socket_connection_get_remote_address(socket, nullptr);
  g_autoptr(GSocketAddress) local = g_socket_connection_get_local_address(socket, nullptr);
  if (!remote || !local)
    return TRUE; // already reset by the client: dropping our ref closes it
  // Nagle's algorithm would hold a message back while the one before it is
  // unacknowledged, and the client delays its ACK by up to 40 ms: an answer
  // relayed right after an offer, or a burst of candidates, arrived 40 ms
  // late (docs/benchmarks.md, "Signaling"). Each message is one write, so
  // nothing is gained by coalescing.
  g_socket_set_option(g_socket_connection_get_socket(socket), IPPROTO_TCP, TCP_NODELAY, 1, nullptr);

  std::string address = address_string(remote, false);
  const Limits &limits = self->options_.limits;
  if (self->accepted_.size() >= limits.max_connections) {
    self->client_log_.message(ClientLine::kConnectionOverCap,
                              "refused a connection from %s: %u connections are open "
                              "(--max-connections)",
                              address.c_str(), limits.max_connections);
    return TRUE;
  }
  unsigned &from_address = self->per_address_[address];
  if (from_address >= limits.max_connections_per_address) {
    self->client_log_.message(ClientLine::kConnectionOverCap,
                              "refused a connection from %s: it has %u open "
                              "(--max-connections-per-address)",
                              address.c_str(), from_address);
    return TRUE;
  }
  from_address++;

  auto accepted = std::make_unique<Accepted>();
  accepted->server = self;
  accepted->socket = socket;
  accepted->address = address;
  accepted->peer = address_string(remote, true);
  if (limits.handshake_timeout_seconds > 0) {
    accepted->handshake_deadline.reset(
        g_timeout_source_new(limits.handshake_timeout_seconds * 1000));
    g_source_set_callback(accepted->handshake_deadline.get(), on_handshake_deadline, accepted.get(),
                          nullptr);
    g_source_attach(accepted->handshake_deadline.get(), g_main_context_get_thread_default());
  }
  g_object_weak_ref(G_OBJECT(socket), on_socket_finalized, accepted.get());
  accepted->local = ref(local);
  accepted->remote = ref(remote);
  Accepted &entry = *accepted;
  self->accepted_by_peer_[accepted->peer] = accepted.get();
  self->accepted_.emplace(socket, std::move(accepted));

  if (!self->certificate_) {
    self->serve(entry, G_IO_STREAM(socket));
    return TRUE;
  }
  // TLS first; the handshake deadline covers it too.
  g_autoptr(GError) error = nullptr;
  GIOStream *tls =
      g_tls_server_connection_new(G_IO_STREAM(socket), self->certificate_.get(), &error);
  if (!tls) {
    g_warning("cannot start TLS with %s: %s", entry.peer.c_str(), error->message);
    g_io_stream_close(G_IO_STREAM(socket), nullptr, nullptr);
    return TRUE;
  }
  // The callback owns `tls`. The entry outlives the handshake: it goes when
  // the socket, which `tls` holds, is finalized.
  g_tls_connection_handshake_async(G_TLS_CONNECTION(tls), G_PRIORITY_DEFAULT, nullptr,
                                   on_tls_handshake, &entry);
  return TRUE;
}

void Server::on_tls_handshake(GObject *tls, GAsyncResult *result, gpointer data) {
  auto *accepted = static_cast<Accepted *>(data);
  g_autoptr(GError) error = nullptr;
  if (g_tls_connection_handshake_finish(G_TLS_CONNECTION(tls), result, &error))
    accepted->server->serve(*accepted, G_IO_STREAM(tls));
  else
    accepted->server->client_log_.message(ClientLine::kTlsFailed,
                                          "TLS handshake with %s failed: %s",
                                          accepted->peer.c_str(), error->message);
  g_object_unref(tls); // SoupServer holds its own reference while serving
}

void Server::serve(Accepted &accepted, GIOStream *stream) {
  g_autoptr(GError) error = nullptr;
  if (!soup_server_accept_iostream(soup_.get(), stream, accepted.local.get(), accepted.remote.get(),
                                   &error))
    g_warning("cannot serve a connection from %s: %s", accepted.peer.c_str(), error->message);
}

void Server::on_socket_finalized(gpointer data, GObject *) {
  auto *accepted = static_cast<Accepted *>(data);
  accepted->server->forget(accepted);
}

void Server::forget(Accepted *accepted) {
  auto count = per_address_.find(accepted->address);
  if (count != per_address_.end() && --count->second == 0)
    per_address_.erase(count);
  // A new connection from the same address and port may have taken the
  // name already (the port reused while this socket was still closing).
  auto by_peer = accepted_by_peer_.find(accepted->peer);
  if (by_peer != accepted_by_peer_.end() && by_peer->second == accepted)
    accepted_by_peer_.erase(by_peer);
  accepted_.erase(accepted->socket); // destroys *accepted
}

gboolean Server::on_handshake_deadline(gpointer data) {
  auto *accepted = static_cast<Accepted *>(data);
  accepted->server->client_log_.message(
      ClientLine::kHandshakeMissing,
      "closing the connection from %s: no WebSocket upgrade within %u s", accepted->peer.c_str(),
      accepted->server->options_.limits.handshake_timeout_seconds);
  g_io_stream_close(G_IO_STREAM(accepted->socket), nullptr, nullptr);
  return G_SOURCE_REMOVE;
}

void Server::on_request(SoupServer *, SoupServerMessage *message, const char *path, GHashTable *,
                        gpointer data) {
  auto *self = static_cast<Server *>(data);
  if (is_websocket_upgrade(message)) {
    self->upgrade(message);
    return;
  }
  const char *method = soup_server_message_get_method(message);
  if (method != SOUP_METHOD_GET && method != SOUP_METHOD_HEAD) {
    respond_text(message, SOUP_STATUS_METHOD_NOT_ALLOWED, "text/plain",
                 "Only GET and HEAD are served here.\n");
    soup_message_headers_append(soup_server_message_get_response_headers(message), "Allow",
                                "GET, HEAD");
    return;
  }
  if (std::strcmp(path, "/healthz") == 0)
    self->serve_health(message);
  else
    self->serve_file(message, path);
}

// Whether a browser page from `origin` may use the server. Only browsers
// send Origin, and other clients could send any: this protects users whose
// browser a hostile page drives, not the server from clients.
bool Server::origin_allowed(SoupServerMessage *message) const {
  if (options_.allowed_origins.empty())
    return true;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers(message);
  const char *origin = soup_message_headers_get_one(headers, "Origin");
  if (!origin)
    return true;
  // The pages we serve ourselves come from our own host and port.
  const char *host = soup_message_headers_get_one(headers, "Host");
  if (host) {
    std::string scheme = options_.tls_certificate.empty() ? "http://" : "https://";
    if (g_ascii_strcasecmp(origin, (scheme + host).c_str()) == 0)
      return true;
  }
  for (const auto &allowed : options_.allowed_origins)
    if (g_ascii_strcasecmp(origin, allowed.c_str()) == 0)
      return true;
  return false;
}

void Server::upgrade(SoupServerMessage *message) {
  if (!origin_allowed(message)) {
    const char *origin =
        soup_message_headers_get_one(soup_server_message_get_request_headers(message), "Origin");
    client_log_.message(ClientLine::kHandshakeRefused,
                        "refused a WebSocket from %s: origin %s is not in --allowed-origin",
                        soup_server_message_get_remote_host(message), origin);
    respond_text(message, SOUP_STATUS_FORBIDDEN, "text/plain",
                 "This page's origin may not use this signaling server.\n");
    return;
  }
  // No extensions offered: permessage-deflate stays off, since libsoup 3.2
  // checks the size limit before inflating (a compression bomb).
  if (!soup_websocket_server_process_handshake(message, nullptr, nullptr, nullptr, nullptr)) {
    client_log_.message(ClientLine::kHandshakeRefused, "refused a bad WebSocket handshake from %s",
                        soup_server_message_get_remote_host(message));
    return; // libsoup set the 400 response
  }
  g_signal_connect(message, "wrote-informational", G_CALLBACK(on_upgrade_written), this);
}

void Server::on_upgrade_written(SoupServerMessage *message, gpointer data) {
  auto *self = static_cast<Server *>(data);
  GSocketAddress *remote = soup_server_message_get_remote_address(message);
  std::string peer = address_string(remote, true);
  ConnectionId id = self->next_id_++;
  auto accepted = self->accepted_by_peer_.find(peer);
  if (accepted == self->accepted_by_peer_.end()) {
    // Every connection SoupServer serves came through on_incoming.
    g_warning("connection %" G_GUINT64_FORMAT ": no accepted socket from %s; dropping it", id,
              peer.c_str());
    g_autoptr(GIOStream) stream = soup_server_message_steal_connection(message);
    if (stream)
      g_io_stream_close_async(stream, G_PRIORITY_DEFAULT, nullptr, nullptr, nullptr);
    return;
  }
  accepted->second->handshake_deadline.reset();
  int fd = g_socket_get_fd(g_socket_connection_get_socket(accepted->second->socket));
  g_autoptr(GIOStream) stream = soup_server_message_steal_connection(message);
  g_info("connection %" G_GUINT64_FORMAT ": WebSocket from %s", id, peer.c_str());
  auto connection =
      std::make_unique<Connection>(id, peer, stream, fd, bool(self->certificate_),
                                   self->options_.limits, *self->poller_, self->client_log_, *self);
  Connection *added = connection.get();
  self->connections_.emplace(id, std::move(connection));
  if (self->options_.greeting)
    added->send("Hello world");
}

void Server::serve_health(SoupServerMessage *message) {
  std::string body = "{\"status\":\"ok\",\"users\":" + std::to_string(registry().size()) +
                     ",\"connections\":" + std::to_string(connections_.size());
  // With --redis: this instance's id and whether it reaches Redis (users
  // counts the users on this instance only).
  if (!directory_->instance().empty())
    body += ",\"instance\":\"" + directory_->instance() + "\",\"redis\":\"" +
            (directory_->connected() ? "up" : "down") + "\"";
  body += "}\n";
  respond_text(message, SOUP_STATUS_OK, "application/json", body);
}

void Server::serve_file(SoupServerMessage *message, const char *path) {
  if (options_.web_root.empty()) {
    respond_text(message, SOUP_STATUS_NOT_FOUND, "text/plain; charset=utf-8",
                 "This server has no web root: start it with --web-root DIR to serve files.\n");
    return;
  }
  // The path is still percent-encoded; an encoded '/' would hide a segment.
  g_autofree char *decoded = g_uri_unescape_string(path, "/");
  if (!decoded || decoded[0] != '/') {
    respond_text(message, SOUP_STATUS_BAD_REQUEST, "text/plain", "Bad path.\n");
    return;
  }
  g_auto(GStrv) segments = g_strsplit(decoded + 1, "/", -1);
  for (char **segment = segments; *segment; segment++) {
    if (std::strcmp(*segment, "..") == 0 || (*segment)[0] == '.') {
      respond_text(message, SOUP_STATUS_NOT_FOUND, "text/plain", "Not found.\n");
      return;
    }
  }
  std::string file = options_.web_root + decoded;
  if (g_str_has_suffix(decoded, "/"))
    file += "index.html";
  g_autofree char *contents = nullptr;
  gsize length = 0;
  if (!g_file_test(file.c_str(), G_FILE_TEST_IS_REGULAR) ||
      !g_file_get_contents(file.c_str(), &contents, &length, nullptr)) {
    respond_text(message, SOUP_STATUS_NOT_FOUND, "text/plain", "Not found.\n");
    return;
  }
  SoupMessageHeaders *headers = soup_server_message_get_response_headers(message);
  soup_message_headers_append(headers, "Cache-Control", "no-cache");
  soup_message_headers_append(headers, "X-Content-Type-Options", "nosniff");
  soup_server_message_set_status(message, SOUP_STATUS_OK, nullptr);
  soup_server_message_set_response(message, content_type_for(file.c_str()), SOUP_MEMORY_TAKE,
                                   static_cast<const char *>(g_steal_pointer(&contents)), length);
}

void Server::send(ConnectionId to, const protocol::ServerMessage &message) {
  auto it = connections_.find(to);
  if (it != connections_.end())
    it->second->send(protocol::serialize(message));
}

void Server::close(ConnectionId connection, const std::string &why) {
  auto it = connections_.find(connection);
  if (it == connections_.end())
    return;
  g_info("connection %" G_GUINT64_FORMAT ": closing: %s", connection, why.c_str());
  it->second->close(websocket::close_code::kPolicyViolation, why.c_str());
}

void Server::on_text(Connection &connection, std::string_view text) {
  if (message_debug_enabled())
    g_debug("connection %" G_GUINT64_FORMAT ": received %.*s", connection.id(), int(text.size()),
            text.data());
  auto parsed = protocol::parse_client_message(text, options_.limits.max_message_bytes);
  if (auto *error = std::get_if<protocol::ParseError>(&parsed))
    router_.refused(connection.id(), *error);
  else
    router_.received(connection.id(), std::get<protocol::ClientMessage>(parsed));
}

void Server::on_gone(Connection &connection) {
  router_.disconnected(connection.id());
}

void Server::on_closed(Connection &connection) {
  g_info("connection %" G_GUINT64_FORMAT ": closed", connection.id());
  connections_.erase(connection.id());
  if (stop_done_ && connections_.empty())
    finish_stop();
}

void Server::stop(std::function<void()> done) {
  stop_done_ = std::move(done);
  g_socket_service_stop(service_.get());
  g_socket_listener_close(G_SOCKET_LISTENER(service_.get()));
  router_.shutdown();
  if (connections_.empty()) {
    finish_stop();
    return;
  }
  // Closing removes entries through on_closed; walk a copy of the ids.
  std::vector<ConnectionId> ids;
  for (const auto &[id, connection] : connections_)
    ids.push_back(id);
  for (ConnectionId id : ids)
    if (auto it = connections_.find(id); it != connections_.end())
      it->second->close(websocket::close_code::kGoingAway, "server shutting down");
  stop_deadline_.reset(g_timeout_source_new(kStopGraceMs));
  g_source_set_callback(
      stop_deadline_.get(),
      +[](gpointer data) -> gboolean {
        auto *self = static_cast<Server *>(data);
        g_message("%zu clients did not answer the close; stopping anyway",
                  self->connections_.size());
        self->finish_stop();
        return G_SOURCE_REMOVE;
      },
      this, nullptr);
  g_source_attach(stop_deadline_.get(), g_main_context_get_thread_default());
}

void Server::finish_stop() {
  stop_deadline_.reset();
  if (auto done = std::exchange(stop_done_, nullptr))
    directory_->stop(std::move(done)); // lets the users' releases reach Redis
}

} // namespace webrtccall::server
