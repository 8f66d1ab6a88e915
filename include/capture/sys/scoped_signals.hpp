// Signal handlers for the length of a job: installed by a constructor, the
// ones before them put back by the destructor, so a tool (or a test that
// runs one in its own process) leaves the process as it found it.
//
// This header needs neither libpcap nor OpenSSL.
#pragma once

#include <signal.h>

#include <array>
#include <cstddef>
#include <initializer_list>

namespace capture {

/// Installs handler for each of up to four signals and restores the
/// previous actions when it goes. The handler should only store to a
/// lock-free atomic. Move-less and copy-less: it owns the process's
/// actions for those signals. Throws nothing.
class scoped_signals {
public:
    scoped_signals(std::initializer_list<int> signals, void (*handler)(int)) noexcept {
        struct sigaction sa {};
        sa.sa_handler = handler;
        sigemptyset(&sa.sa_mask);
        for (int sig : signals) {
            if (count_ == signals_.size()) break;
            signals_[count_] = sig;
            ::sigaction(sig, &sa, &old_[count_]);
            ++count_;
        }
    }
    scoped_signals(const scoped_signals&) = delete;
    scoped_signals& operator=(const scoped_signals&) = delete;
    ~scoped_signals() {
        for (std::size_t i = count_; i-- > 0;) ::sigaction(signals_[i], &old_[i], nullptr);
    }

private:
    std::array<int, 4> signals_{};
    std::array<struct sigaction, 4> old_{};
    std::size_t count_ = 0;
};

}  // namespace capture
