// Errors inside the library and exit codes at the edge.
//
// The library throws; only the shared runner (cli.hpp) turns an exception
// into "cap-xxx: message" and one of the three exit codes the whole suite
// documents. Every message carries its context (the path, the line, the
// words of libpcap or OpenSSL) so the runner never has to add any.
#pragma once

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

namespace capture {

/// The exit codes of every tool (DESIGN.md "Errors, exit codes, audit").
enum exit_code : int {
    exit_ok = 0,       ///< everything asked was done
    exit_failure = 1,  ///< at least one input or capture failed; the others were done
    exit_usage = 2,    ///< usage or configuration error; nothing was done
};

/// A failure of one input or one action: reported, counted, exit 1.
class error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A mistake in the command line or the configuration: exit 2, nothing done.
class usage_error : public error {
public:
    using error::error;
};

/// The text of an errno value, as strerror gives it.
inline std::string errno_text(int err) { return std::strerror(err); }

/// "what: strerror(err)"; the usual shape of a system call failure.
inline error system_failure(std::string_view what, int err = errno) {
    return error(std::string(what) + ": " + errno_text(err));
}

}  // namespace capture
