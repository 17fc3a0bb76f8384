#include "redis_link.hpp"

#include <algorithm>

namespace webrtccall::server {

std::string RedisAddress::text() const {
  if (host.find(':') != std::string::npos)
    return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

std::optional<RedisAddress> parse_redis_url(std::string_view url, std::string &problem) {
  std::string text(url);
  g_autoptr(GUri) uri = g_uri_parse(text.c_str(), G_URI_FLAGS_NONE, nullptr);
  if (!uri || g_strcmp0(g_uri_get_scheme(uri), "redis") != 0 || !g_uri_get_host(uri) ||
      !*g_uri_get_host(uri)) {
    problem = "give redis://HOST[:PORT], e.g. redis://127.0.0.1:6379";
    return std::nullopt;
  }
  const char *path = g_uri_get_path(uri);
  if ((path && *path && g_strcmp0(path, "/") != 0) || g_uri_get_query(uri) ||
      g_uri_get_fragment(uri)) {
    // Pub/sub channels ignore the database number, so a database would
    // separate the names but not the messages: not offered.
    problem = "takes no database, path or query: give redis://HOST[:PORT]";
    return std::nullopt;
  }
  if (g_uri_get_userinfo(uri)) {
    problem = "takes no user or password (AUTH is not supported): give redis://HOST[:PORT]";
    return std::nullopt;
  }
  RedisAddress address;
  address.host = g_uri_get_host(uri);
  if (g_uri_get_port(uri) > 0)
    address.port = g_uri_get_port(uri);
  return address;
}

RedisLink::RedisLink(RedisAddress address, std::vector<std::string> channels,
                     RedisLinkOptions options, RedisLinkListener &listener)
    : address_(std::move(address)), channels_(std::move(channels)), options_(options),
      listener_(listener), commands_("commands", options.timeouts, *this),
      subscriber_("subscriber", options.timeouts, *this), backoff_ms_(options.min_backoff_ms) {}

RedisLink::~RedisLink() {
  if (resolving_)
    g_cancellable_cancel(resolving_.get()); // on_resolved sees the cancellation, not us
}

void RedisLink::start() {
  connect();
}

void RedisLink::connect() {
  if (g_hostname_is_ip_address(address_.host.c_str())) {
    open(address_.host);
    return;
  }
  resolving_ = adopt(g_cancellable_new());
  g_autoptr(GResolver) resolver = g_resolver_get_default();
  g_resolver_lookup_by_name_async(resolver, address_.host.c_str(), resolving_.get(), on_resolved,
                                  this);
}

void RedisLink::on_resolved(GObject *resolver, GAsyncResult *result, gpointer data) {
  g_autoptr(GError) error = nullptr;
  GList *addresses = g_resolver_lookup_by_name_finish(G_RESOLVER(resolver), result, &error);
  if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return; // the link is gone
  auto *self = static_cast<RedisLink *>(data);
  self->resolving_.reset();
  if (!addresses) {
    std::string why = std::string("cannot resolve ") + self->address_.host + ": " +
                      (error ? error->message : "no address");
    if (self->down_reason_ != why)
      g_warning("Redis at %s: %s; retrying", self->address_.text().c_str(), why.c_str());
    self->down_reason_ = why;
    self->retry_later();
    return;
  }
  g_autofree char *ip = g_inet_address_to_string(G_INET_ADDRESS(addresses->data));
  g_resolver_free_addresses(addresses);
  self->open(ip);
}

void RedisLink::open(const std::string &ip) {
  subscribed_ = false;
  commands_.open(ip, address_.port);
  subscriber_.open(ip, address_.port);
}

bool RedisLink::command(const std::vector<std::string> &args, RedisCallback done) {
  return up_ && commands_.command(args, std::move(done));
}

void RedisLink::reset(const std::string &why) {
  for (RedisConnection *connection : {&commands_, &subscriber_})
    if (!connection->is_closed())
      connection->close(why);
}

void RedisLink::on_connected(RedisConnection &connection) {
  if (&connection == &commands_) {
    maybe_up();
    return;
  }
  bool asked = subscriber_.subscribe(channels_, [this](const RedisResult &result) {
    if (!result.ok())
      return; // the connection is closing; on_closed follows
    subscribed_ = true;
    maybe_up();
  });
  if (!asked)
    subscriber_.close("cannot send SUBSCRIBE");
}

void RedisLink::maybe_up() {
  if (up_ || !subscribed_ || !commands_.is_open())
    return;
  up_ = true;
  backoff_ms_ = options_.min_backoff_ms;
  if (was_up_)
    g_info("connected to Redis at %s again", address_.text().c_str());
  else
    g_info("connected to Redis at %s", address_.text().c_str());
  was_up_ = true;
  down_reason_.clear();
  listener_.on_link_up();
}

void RedisLink::on_closed(RedisConnection &connection, const std::string &why) {
  if (&connection == &subscriber_)
    subscribed_ = false;
  std::string reason = "the " + connection.name() + " connection: " + why;
  if (down_reason_.empty()) {
    // Once per outage: the retries that follow fail the same way.
    g_warning("%s Redis at %s (%s); reconnecting", was_up_ ? "lost" : "cannot reach",
              address_.text().c_str(), reason.c_str());
    down_reason_ = reason;
  } else {
    g_info("Redis at %s: %s", address_.text().c_str(), reason.c_str());
  }
  if (up_) {
    up_ = false;
    listener_.on_link_down(reason);
  }
  RedisConnection &other = &connection == &commands_ ? subscriber_ : commands_;
  if (!other.is_closed())
    other.close("the " + connection.name() + " connection closed");
  else
    retry_later(); // both are closed: this is the last report of the attempt
}

void RedisLink::on_message(RedisConnection &, std::string_view channel, std::string_view payload) {
  listener_.on_message(channel, payload);
}

void RedisLink::retry_later() {
  if (retry_)
    return;
  // Jitter, so instances that lost Redis together do not all come back at once.
  guint delay = backoff_ms_ + g_random_int_range(0, gint32(backoff_ms_ / 4 + 1));
  backoff_ms_ = std::min(backoff_ms_ * 2, options_.max_backoff_ms);
  retry_.reset(g_timeout_source_new(delay));
  g_source_set_callback(
      retry_.get(),
      +[](gpointer data) -> gboolean {
        auto *self = static_cast<RedisLink *>(data);
        self->retry_.reset();
        self->connect();
        return G_SOURCE_REMOVE;
      },
      this, nullptr);
  g_source_attach(retry_.get(), g_main_context_get_thread_default());
}

} // namespace webrtccall::server
