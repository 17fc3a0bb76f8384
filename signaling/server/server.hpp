// The signaling server: accepts TCP connections itself (so it can count and
// time them), hands them to a SoupServer for HTTP, upgrades WebSockets into
// Connections and routes their messages through the Router.
//
// Everything runs on the thread-default main context of the thread that
// calls start(): libsoup objects are not thread-safe.
#pragma once

#include "client_log.hpp"
#include "common/gobject_ptr.hpp"
#include "connection.hpp"
#include "directory.hpp"
#include "limits.hpp"
#include "router.hpp"
#include "socket_poller.hpp"

#include <gio/gio.h>
#include <libsoup/soup.h>

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace webrtccall::server {

struct ServerOptions {
  std::string host;      // empty: every interface, as the tutorial's server
  guint16 port = 9090;   // 0: any free port
  std::string web_root;  // empty: serve no files
  bool greeting = false; // send the tutorial's "Hello world" on connect
  bool presence = true;
  std::vector<protocol::IceServer> ice_servers; // handed to clients at login
  std::string tls_certificate;                  // PEM files; both set: https:// and wss:// only
  std::string tls_key;
  // Web pages allowed to open a WebSocket here, as "scheme://host[:port]",
  // besides pages this server serves itself. Empty: any page.
  std::vector<std::string> allowed_origins;
  std::string auth_secret; // non-empty: logins need a token (tokens.hpp)
  TurnSettings turn;       // short-lived TURN credentials (turn_credentials.hpp)
  std::string redis_url;   // non-empty: share users with other instances (--redis)
  Limits limits;
};

class Server final : public Outbox, public ConnectionOwner {
public:
  explicit Server(ServerOptions options);
  ~Server() override;
  Server(const Server &) = delete;
  Server &operator=(const Server &) = delete;

  // Listens; `ready` once logins can be taken (with --redis: once Redis is
  // reached, which may be never).
  bool start(GError **error, std::function<void()> ready = {});
  // A URL a client on this machine can connect to, e.g. ws://127.0.0.1:9090/.
  std::string url() const;
  guint16 port() const { return port_; }

  // Tells everyone in a call that the peer is gone, closes every socket
  // cleanly, stops listening, then calls `done` (at the latest after a grace
  // period for clients that do not answer the close).
  void stop(std::function<void()> done);

  std::size_t connection_count() const { return connections_.size(); }
  const Registry &registry() const { return router_.registry(); }

private:
  struct Accepted; // one TCP connection, from accept to finalize

  // Outbox
  void send(ConnectionId to, const protocol::ServerMessage &message) override;
  void close(ConnectionId connection, const std::string &why) override;
  // ConnectionOwner
  void on_text(Connection &connection, std::string_view text) override;
  void on_gone(Connection &connection) override;
  void on_closed(Connection &connection) override;

  static gboolean on_incoming(GSocketService *service, GSocketConnection *socket, GObject *source,
                              gpointer self);
  static void on_request(SoupServer *soup, SoupServerMessage *message, const char *path,
                         GHashTable *query, gpointer self);
  static void on_upgrade_written(SoupServerMessage *message, gpointer self);
  static void on_socket_finalized(gpointer accepted, GObject *socket);
  static gboolean on_handshake_deadline(gpointer accepted);
  bool origin_allowed(SoupServerMessage *message) const;
  static void on_tls_handshake(GObject *tls, GAsyncResult *result, gpointer accepted);

  void serve(Accepted &accepted, GIOStream *stream);
  void upgrade(SoupServerMessage *message);
  void serve_health(SoupServerMessage *message);
  void serve_file(SoupServerMessage *message, const char *path);
  void forget(Accepted *accepted);
  void finish_stop();

  ServerOptions options_;
  std::unique_ptr<Directory> directory_; // where users live; before the router that uses it
  Router router_;
  GObjectPtr<SoupServer> soup_;
  GObjectPtr<GSocketService> service_;
  GObjectPtr<GTlsCertificate> certificate_; // when serving TLS
  guint16 port_ = 0;
  ConnectionId next_id_ = 1;
  // Lines clients cause, the connections' too: a line a second per kind. Before the
  // connections: it outlives them.
  ClientLog client_log_;
  std::unique_ptr<SocketPoller> poller_; // made by start(); outlives connections_
  std::unordered_map<ConnectionId, std::unique_ptr<Connection>> connections_;
  std::unordered_map<GSocketConnection *, std::unique_ptr<Accepted>> accepted_; // weak refs
  std::unordered_map<std::string, Accepted *> accepted_by_peer_; // "ip:port" -> entry
  std::unordered_map<std::string, unsigned> per_address_;        // "ip" -> open connections
  std::function<void()> stop_done_;
  GSourcePtr stop_deadline_;
  GSourcePtr turn_refresh_; // sends fresh TURN credentials (--turn-secret)
};

} // namespace webrtccall::server
