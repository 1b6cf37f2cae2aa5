// config::Boxed: an optional kept on the heap, with the value semantics of std::optional.
#include "config/boxed.hpp"

#include <doctest/doctest.h>

#include <string>

#include "config/schema.hpp"

using mainstay::config::Boxed;

TEST_CASE("Boxed: empty by default, holds what is assigned, resets") {
    Boxed<std::string> b;
    CHECK_FALSE(b);
    CHECK_FALSE(b.has_value());
    CHECK(b.get() == nullptr);
    CHECK_THROWS_AS((void)b.value(), std::bad_optional_access);
    b = std::string("web");
    REQUIRE(b);
    CHECK(*b == "web");
    CHECK(b->size() == 3);
    b.reset();
    CHECK_FALSE(b);
    b.emplace(2, 'x');
    CHECK(*b == "xx");
    b = std::nullopt;
    CHECK_FALSE(b);
}

TEST_CASE("Boxed: a copy is deep (changing it leaves the original alone), a move empties the source") {
    Boxed<std::string> a(std::string("readiness"));
    Boxed<std::string> copy = a;
    *copy = "liveness";
    CHECK(*a == "readiness");
    CHECK(*copy == "liveness");
    copy = a;
    CHECK(*copy == "readiness");
    CHECK(copy.get() != a.get());
    Boxed<std::string> moved = std::move(a);
    CHECK(*moved == "readiness");
    Boxed<std::string> from_optional(std::optional<std::string>("tcp"));
    CHECK(*from_optional == "tcp");
    Boxed<std::string> from_empty(std::optional<std::string>{});
    CHECK_FALSE(from_empty);
}

TEST_CASE("a ServiceSpec without probes does not pay for them: three probes take three pointers") {
    CHECK(sizeof(mainstay::config::ProbesSpec) == 3 * sizeof(void*));
    mainstay::config::ServiceSpec spec;
    spec.probes.readiness = mainstay::config::ProbeSpec{};
    const mainstay::config::ServiceSpec copy = spec;
    CHECK(copy.probes.readiness);
    CHECK_FALSE(copy.probes.liveness);
    CHECK(copy.probes.readiness.get() != spec.probes.readiness.get());
}
