// Taking an element out of a running bin, from any thread.
#pragma once

#include <gst/gst.h>

namespace webrtccall {

// Locks the element's state first: otherwise a state change of the bin that
// is under way on another thread can set it back to PAUSED after it was
// stopped, and it is then disposed while running.
inline GstStateChangeReturn remove_element(GstBin *bin, GstElement *element) {
  gst_element_set_locked_state(element, TRUE);
  GstStateChangeReturn result = gst_element_set_state(element, GST_STATE_NULL);
  gst_bin_remove(bin, element);
  return result;
}

// Stops what streams out of `element`'s src pads, without its state lock:
// each pad waits for its streaming thread to leave. That thread may be held
// in a sink of the application's that a state change to PAUSED stopped
// (preroll), and the state change, walking our children, takes each one's
// state lock, even a locked one's, to look at it. Stopping the element with
// gst_element_set_state alone would hold that lock while it waits, and
// neither would go on (seen in the sanitizer run: an application stopping
// its pipeline right after a hang-up). This way the state change passes the
// element by, the sinks go to READY in the next one and let the thread go.
inline void deactivate_src_pads(GstElement *element) {
  GstIterator *pads = gst_element_iterate_src_pads(element);
  while (gst_iterator_foreach(
             pads,
             [](const GValue *item, gpointer) {
               gst_pad_set_active(GST_PAD(g_value_get_object(item)), FALSE);
             },
             nullptr) == GST_ITERATOR_RESYNC)
    gst_iterator_resync(pads);
  gst_iterator_free(pads);
}

} // namespace webrtccall
