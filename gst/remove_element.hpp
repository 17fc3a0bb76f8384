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

} // namespace webrtccall
