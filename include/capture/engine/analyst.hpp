// Whom a capture, pull or merge is for when -a does not say: the
// configuration's analyst key, else the user who ran sudo, else the user.
#pragma once

#include "capture/engine/config.hpp"
#include "capture/text/audit.hpp"

#include <cstdlib>
#include <string>

namespace capture {

/// The analyst when -a is not given: the 'analyst' configuration key (a
/// sensor's friendly handler name), else SUDO_USER, else the real user's
/// name. Throws nothing but std::bad_alloc.
inline std::string default_analyst(const settings& s) {
    if (!s.analyst.empty()) return s.analyst;
    if (const char* sudo = std::getenv("SUDO_USER"); sudo && *sudo) return sudo;
    return current_actor().user;
}

}  // namespace capture
