// A child process whose standard output and standard error come back on
// pipes: how a fleet pull runs the system's ssh client once per sensor.
//
// The child is started with posix_spawnp (the program is looked up in
// PATH, as a shell would), with standard input on /dev/null (ssh must
// never read the terminal, nor the capture on our stdin) and every other
// descriptor of ours closed by O_CLOEXEC. Its pipes are non-blocking on
// our side, for poll(). The owner kills and reaps the child if it is still
// there when the owner goes: no zombie, no orphan ssh left behind.
// This header needs neither libpcap nor OpenSSL.
#pragma once

#include "capture/sys/error.hpp"
#include "capture/sys/fd.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

extern char** environ;

namespace capture {

/// A running child with its stdout and stderr on pipes.
class child_process {
public:
    /// Starts argv[0] (looked up in PATH) with argv. Throws error naming
    /// the program when the pipes cannot be made or it cannot be started
    /// (not found, not executable).
    static child_process spawn(const std::vector<std::string>& argv) {
        if (argv.empty()) throw error("no program to run");
        int out[2], err[2];
        if (::pipe2(out, O_CLOEXEC) != 0) throw system_failure("pipe");
        unique_fd out_r(out[0]), out_w(out[1]);
        if (::pipe2(err, O_CLOEXEC) != 0) throw system_failure("pipe");
        unique_fd err_r(err[0]), err_w(err[1]);
        posix_spawn_file_actions_t actions;
        if (::posix_spawn_file_actions_init(&actions) != 0) throw system_failure("posix_spawn_file_actions_init");
        struct actions_guard {
            posix_spawn_file_actions_t* a;
            ~actions_guard() { ::posix_spawn_file_actions_destroy(a); }
        } guard{&actions};
        // dup2 clears O_CLOEXEC on the copies the child keeps.
        ::posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        ::posix_spawn_file_actions_adddup2(&actions, out_w.get(), STDOUT_FILENO);
        ::posix_spawn_file_actions_adddup2(&actions, err_w.get(), STDERR_FILENO);
        // The child starts with default signal dispositions and mask: a
        // pull's own handlers (SIGINT asks it to stop) are not the child's.
        posix_spawnattr_t attr;
        if (::posix_spawnattr_init(&attr) != 0) throw system_failure("posix_spawnattr_init");
        struct attr_guard {
            posix_spawnattr_t* a;
            ~attr_guard() { ::posix_spawnattr_destroy(a); }
        } attr_g{&attr};
        sigset_t all, none;
        sigfillset(&all);
        sigemptyset(&none);
        ::posix_spawnattr_setsigdefault(&attr, &all);
        ::posix_spawnattr_setsigmask(&attr, &none);
        ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        pid_t pid = -1;
        int rc = ::posix_spawnp(&pid, args[0], &actions, &attr, args.data(), environ);
        if (rc != 0) throw error(argv[0] + ": cannot run: " + errno_text(rc));
        child_process c;
        c.pid_ = pid;
        out_w.reset();
        err_w.reset();
        ::fcntl(out_r.get(), F_SETFL, ::fcntl(out_r.get(), F_GETFL) | O_NONBLOCK);
        ::fcntl(err_r.get(), F_SETFL, ::fcntl(err_r.get(), F_GETFL) | O_NONBLOCK);
        c.out_ = std::move(out_r);
        c.err_ = std::move(err_r);
        return c;
    }

    child_process() = default;
    child_process(child_process&& o) noexcept
        : pid_(std::exchange(o.pid_, -1)), status_(o.status_), out_(std::move(o.out_)), err_(std::move(o.err_)) {}
    child_process& operator=(child_process&& o) noexcept {
        if (this != &o) {
            kill_and_reap();
            pid_ = std::exchange(o.pid_, -1);
            status_ = o.status_;
            out_ = std::move(o.out_);
            err_ = std::move(o.err_);
        }
        return *this;
    }
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;
    /// Kills (SIGKILL) and reaps a child still running. Throws nothing.
    ~child_process() { kill_and_reap(); }

    /// The read end of the child's standard output (-1 once closed).
    int out_fd() const noexcept { return out_.get(); }
    /// The read end of the child's standard error (-1 once closed).
    int err_fd() const noexcept { return err_.get(); }
    /// Closes our end of its standard output (the child then gets EPIPE).
    void close_out() noexcept { out_.reset(); }
    /// Closes our end of its standard error.
    void close_err() noexcept { err_.reset(); }
    /// The child's pid, -1 once reaped.
    pid_t pid() const noexcept { return pid_; }

    /// Sends sig to the child if it has not been reaped. Throws nothing.
    void signal(int sig) const noexcept {
        if (pid_ > 0) ::kill(pid_, sig);
    }

    /// Reaps the child if it has ended (without waiting when wait is
    /// false). Its wait status once reaped; nothing while it runs.
    /// Throws nothing.
    std::optional<int> reap(bool wait) noexcept {
        if (pid_ > 0) {
            int st = 0;
            pid_t r;
            do r = ::waitpid(pid_, &st, wait ? 0 : WNOHANG);
            while (r < 0 && errno == EINTR);
            if (r == pid_ || (r < 0 && errno == ECHILD)) {
                status_ = r == pid_ ? st : 0;
                pid_ = -1;
            }
        }
        if (pid_ > 0) return std::nullopt;
        return status_;
    }

    /// Kills the child (SIGKILL) and waits for it. Throws nothing.
    void kill_and_reap() noexcept {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            reap(true);
        }
    }

private:
    pid_t pid_ = -1;
    int status_ = 0;
    unique_fd out_, err_;
};

/// A wait status in words: "exit status N", "killed by signal N".
/// Throws only std::bad_alloc.
inline std::string wait_status_text(int status) {
    if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
    return "wait status " + std::to_string(status);
}

}  // namespace capture
