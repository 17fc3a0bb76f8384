// RAII owners for GLib/GObject references held as class members.
//
// Locals use g_autoptr; members use these so that C++ destructors release
// what the object owns. Build them with adopt() for transfer-full returns and
// ref() for transfer-none ones: the name says what happens to the count.
#pragma once

#include <glib-object.h>

#include <memory>

namespace webrtccall {

struct GObjectUnref {
  void operator()(gpointer object) const { g_object_unref(object); }
};

template <class T> using GObjectPtr = std::unique_ptr<T, GObjectUnref>;

// Takes over a reference the caller already owns (transfer full).
template <class T> GObjectPtr<T> adopt(T *object) {
  return GObjectPtr<T>(object);
}

// Takes a new reference (transfer none).
template <class T> GObjectPtr<T> ref(T *object) {
  return GObjectPtr<T>(object ? static_cast<T *>(g_object_ref(object)) : nullptr);
}

struct GSourceDestroy {
  void operator()(GSource *source) const {
    g_source_destroy(source);
    g_source_unref(source);
  }
};

// An attached GSource that is removed from its context when the owner goes.
using GSourcePtr = std::unique_ptr<GSource, GSourceDestroy>;

struct GFree {
  void operator()(gpointer p) const { g_free(p); }
};

} // namespace webrtccall
