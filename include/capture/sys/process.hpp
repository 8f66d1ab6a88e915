// Processes: who is alive, detaching a daemon with a handshake, and
// dropping privileges after the device is open.
//
// A pid alone never identifies a capture: pids are reused. A process is
// named by its pid and its start time (field 22 of /proc/PID/stat, clock
// ticks since boot), which no later process with the same pid can share.
// This header needs neither libpcap nor OpenSSL.
#pragma once

#include "capture/sys/error.hpp"
#include "capture/sys/fd.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/capability.h>
#include <sys/syscall.h>
#endif

#include <chrono>
#include <cstdint>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

namespace capture {

/// The start time of a process from the text of /proc/PID/stat: field 22,
/// counted after the last ')' because the command name may hold spaces and
/// parentheses. Nothing when the text is not such a line.
inline std::optional<std::uint64_t> parse_stat_start_time(const std::string& stat) {
    auto close = stat.rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::istringstream fields(stat.substr(close + 1));
    std::string field;
    // Field 3 (state) is the first after ')'; field 22 is the 20th.
    for (int n = 3; n <= 22; ++n)
        if (!(fields >> field)) return std::nullopt;
    try {
        std::size_t used = 0;
        std::uint64_t v = std::stoull(field, &used);
        if (used != field.size()) return std::nullopt;
        return v;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

/// The start time of process pid (clock ticks since boot), or nothing
/// when there is no such process (or no /proc).
inline std::optional<std::uint64_t> process_start_time(pid_t pid) {
    if (pid <= 0) return std::nullopt;
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!in || !std::getline(in, line)) return std::nullopt;
    return parse_stat_start_time(line);
}

/// True when process pid is alive and started at start_time: the same
/// process, not a later one that was given the same pid. A zombie counts
/// as gone: it will never write again.
inline bool process_matches(pid_t pid, std::uint64_t start_time) {
    auto t = process_start_time(pid);
    if (!t || *t != start_time) return false;
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(in, line);
    auto close = line.rfind(')');
    return !(close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z');
}

/// The two ends of a detach: the caller learns which side it is on.
struct detached {
    bool in_daemon = false;  ///< true in the detached process, false in the caller
    unique_fd channel;       ///< the daemon writes its handshake here; the caller reads it
};

/// Detaches a daemon: forks twice with a new session between, so the
/// daemon is no session leader and can never regain a terminal; the
/// daemon has stdin, stdout and stderr on /dev/null and "/" as its
/// directory. Returns in both: the caller gets the read end of a pipe on
/// which the daemon says whether it really started. Throws error when
/// fork or pipe fail. Flush streams before calling: buffers are copied.
inline detached detach_daemon() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw system_failure("pipe");
    unique_fd read_end(fds[0]), write_end(fds[1]);
    pid_t first = ::fork();
    if (first < 0) throw system_failure("fork");
    if (first > 0) {
        write_end.reset();
        int status;
        while (::waitpid(first, &status, 0) < 0 && errno == EINTR) {}
        return detached{false, std::move(read_end)};
    }
    read_end.reset();
    ::setsid();
    pid_t second = ::fork();
    if (second < 0) {
        static const char msg[] = "ERR fork: cannot start the capture process\n";
        [[maybe_unused]] ssize_t n = ::write(write_end.get(), msg, sizeof msg - 1);
        ::_exit(1);
    }
    if (second > 0) ::_exit(0);
    [[maybe_unused]] int rc = ::chdir("/");
    int null = ::open("/dev/null", O_RDWR);
    if (null >= 0) {
        ::dup2(null, STDIN_FILENO);
        ::dup2(null, STDOUT_FILENO);
        ::dup2(null, STDERR_FILENO);
        if (null > STDERR_FILENO) ::close(null);
    }
    return detached{true, std::move(write_end)};
}

/// Reads the daemon's handshake: one line "OK TEXT" or "ERR MESSAGE",
/// waiting at most timeout. Returns TEXT; throws error with the daemon's
/// own MESSAGE, or saying that it ended or hung without a word.
inline std::string read_handshake(const unique_fd& channel, std::chrono::milliseconds timeout) {
    std::string text;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) throw error("the capture process did not report within " +
                                           std::to_string(timeout.count() / 1000) + " s");
        pollfd p{channel.get(), POLLIN, 0};
        int r = ::poll(&p, 1, static_cast<int>(left.count()));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) throw system_failure("poll");
        if (r == 0) continue;
        char buf[4096];
        ssize_t n = ::read(channel.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw system_failure("read");
        if (n == 0) break;
        text.append(buf, static_cast<std::size_t>(n));
        if (text.find('\n') != std::string::npos) break;
    }
    auto nl = text.find('\n');
    if (nl == std::string::npos) throw error("the capture process ended before it started");
    text.resize(nl);
    if (text.rfind("OK ", 0) == 0) return text.substr(3);
    if (text.rfind("ERR ", 0) == 0) throw error(text.substr(4));
    throw error("the capture process said something unexpected: " + text);
}

/// Waits, at most timeout, for the go-ahead on channel: the line "go"
/// from the other end. True when it came, or when a signal came first (the
/// caller looks at it: a capture asked to stop meanwhile stops at once);
/// false when the other end closed without it (it ended, or gave up) or
/// the time ran out.
inline bool wait_for_go(const unique_fd& channel, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string said;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd p{channel.get(), POLLIN, 0};
        int r = ::poll(&p, 1, static_cast<int>(left.count()));
        if (r < 0) return errno == EINTR;
        if (r == 0) continue;
        char buf[64];
        ssize_t n = ::read(channel.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) return true;
        if (n <= 0) return false;
        said.append(buf, static_cast<std::size_t>(n));
        if (said.rfind("go\n", 0) == 0) return true;
        if (said.size() > 16) return false;
    }
}

/// Writes one handshake line ("OK TEXT" or "ERR MESSAGE") and ignores a
/// caller that has gone away: the daemon must not die of SIGPIPE for it.
inline void write_handshake(const unique_fd& channel, const std::string& line) {
    std::string text = line + "\n";
    std::size_t done = 0;
    while (done < text.size()) {
        ssize_t n = ::write(channel.get(), text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        done += static_cast<std::size_t>(n);
    }
}

/// The unprivileged account a capture runs as once its device is open.
struct run_as {
    std::string user;   ///< its name, for messages and the record's runas
    std::string group;  ///< the capture group's name
    uid_t uid = 0;      ///< the user's id
    gid_t gid = 0;      ///< the capture group's id
};

/// The account to drop to: user (else "tcpdump" when it exists, as
/// Debian's tcpdump does, else "nobody") and group (else that user's
/// primary group). Throws usage_error for a user or group that does not
/// exist.
inline run_as resolve_run_as(const std::string& user, const std::string& group_name) {
    run_as r;
    const passwd* pw = nullptr;
    if (!user.empty()) {
        pw = ::getpwnam(user.c_str());
        if (!pw) throw usage_error("user '" + user + "' does not exist (the 'user' configuration key)");
    } else {
        pw = ::getpwnam("tcpdump");
        if (!pw) pw = ::getpwnam("nobody");
        if (!pw) throw usage_error("neither user tcpdump nor nobody exists: name one with the 'user' key");
    }
    r.user = pw->pw_name;
    r.uid = pw->pw_uid;
    r.gid = pw->pw_gid;
    if (!group_name.empty()) {
        const struct group* gr = ::getgrnam(group_name.c_str());
        if (!gr) throw usage_error("group '" + group_name + "' does not exist (the 'group' configuration key)");
        r.gid = gr->gr_gid;
        r.group = gr->gr_name;
    } else if (const struct group* gr = ::getgrgid(r.gid)) {
        r.group = gr->gr_name;
    } else {
        r.group = std::to_string(r.gid);
    }
    return r;
}

/// Gives up every capability this process holds (a binary given
/// CAP_NET_RAW by setcap keeps it after the device is open otherwise).
/// Throws error when the kernel refuses.
inline void clear_capabilities() {
#ifdef __linux__
    __user_cap_header_struct header{};
    header.version = _LINUX_CAPABILITY_VERSION_3;
    header.pid = 0;
    __user_cap_data_struct data[2]{};
    if (::syscall(SYS_capset, &header, data) != 0) throw system_failure("capset");
#endif
}

/// Becomes who: supplementary groups to just the group, then the group,
/// then the user (in that order: after setuid, setgid is no longer
/// allowed), and checks that root cannot be regained, as tcpdump -Z does.
/// Throws error saying which step failed.
inline void drop_privileges(const run_as& who) {
    if (::setgroups(1, &who.gid) != 0) throw system_failure("setgroups(" + who.group + ")");
    if (::setresgid(who.gid, who.gid, who.gid) != 0) throw system_failure("setgid(" + who.group + ")");
    if (::setresuid(who.uid, who.uid, who.uid) != 0) throw system_failure("setuid(" + who.user + ")");
    if (who.uid != 0 && (::setuid(0) == 0 || ::seteuid(0) == 0))
        throw error("privileges could not be dropped: root was regained after setuid(" + who.user + ")");
    if (::getuid() != who.uid || ::geteuid() != who.uid || ::getgid() != who.gid || ::getegid() != who.gid)
        throw error("privileges could not be dropped to " + who.user + ":" + who.group);
    clear_capabilities();
}

}  // namespace capture
