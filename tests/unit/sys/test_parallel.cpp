// The ordered pool: every task once, emitted in submission order, with
// bounded memory, and failures reaching the caller.
#include "capture/sys/parallel.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <numeric>
#include <chrono>
#include <stdexcept>
#include <thread>

TEST_CASE("results are emitted in submission order whatever order they finish in") {
    for (unsigned workers : {0u, 1u, 2u, 7u}) {
        std::vector<int> emitted;
        std::atomic<int> calls{0};
        {
            capture::ordered_pool pool(workers);
            for (int i = 0; i < 200; ++i) {
                auto result = std::make_shared<int>(-1);
                pool.submit(
                    [i, result, &calls] {
                        ++calls;
                        // Early items are the slow ones, so they finish last.
                        if (i % 50 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
                        *result = i * 3;
                    },
                    [i, result, &emitted] {
                        CHECK(*result == i * 3);
                        emitted.push_back(i);
                    });
            }
            pool.finish();
        }
        REQUIRE(emitted.size() == 200);
        CHECK(calls == 200);
        for (std::size_t i = 0; i < emitted.size(); ++i) CHECK(emitted[i] == static_cast<int>(i));
    }
}

TEST_CASE("a slow first task bounds how far submission runs ahead") {
    capture::ordered_pool pool(2);
    std::atomic<bool> release{false};
    std::atomic<int> submitted{0};
    std::thread submitter([&] {
        pool.submit([&] { while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1)); }, [] {});
        for (int i = 0; i < 100000; ++i) {
            pool.submit([] {}, [] {});
            ++submitted;
        }
    });
    // Wait (bounded) for the submitter to block on the full window.
    int last = -1;
    for (int tries = 0; tries < 200 && submitted != last; ++tries) {
        last = submitted;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(submitted < 1000);
    release = true;
    submitter.join();
    pool.finish();
    CHECK(submitted == 100000);
}

TEST_CASE("an exception from a task reaches the caller at finish") {
    capture::ordered_pool pool(3);
    for (int i = 0; i < 50; ++i)
        pool.submit([i] { if (i == 10) throw std::runtime_error("boom"); }, [] {});
    CHECK_THROWS_AS(pool.finish(), std::runtime_error);
}

TEST_CASE("available cores is at least one") { CHECK(capture::available_cores() >= 1); }

TEST_CASE("each result is emitted as soon as it and those before it are done", "[pool]") {
    std::vector<int> emitted;
    std::atomic<int> emitted_count{0};
    std::atomic<bool> streamed{false};
    {
        capture::ordered_pool pool(3);
        for (int i = 0; i < 40; ++i) {
            pool.submit(
                [i, &emitted_count, &streamed] {
                    if (i == 1) {
                        // The first result is out before the second task ends:
                        // output streams instead of waiting for the whole input.
                        auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
                        while (emitted_count.load() < 1 && std::chrono::steady_clock::now() < until)
                            std::this_thread::sleep_for(std::chrono::milliseconds(1));
                        streamed = emitted_count.load() >= 1;
                    }
                    std::this_thread::sleep_for(std::chrono::microseconds((i * 37) % 500));
                },
                [i, &emitted, &emitted_count] {
                    emitted.push_back(i);
                    ++emitted_count;
                });
        }
        pool.finish();
    }
    std::vector<int> expected(40);
    std::iota(expected.begin(), expected.end(), 0);
    CHECK(emitted == expected);
    CHECK(streamed);
}
