// An optional value kept on the heap: what `std::optional<T>` says, at the size of a pointer
// when it is empty. For large parts of a service's spec that most services do not have (a probe
// is 368 bytes; three of them inline would be a third of every ServiceSpec, probes or not).
// Copies are deep, so a Boxed behaves as a value like the optional it replaces.
#pragma once

#include <memory>
#include <optional>
#include <stdexcept>
#include <utility>

namespace mainstay::config {

template <class T>
class Boxed {
public:
    Boxed() = default;
    Boxed(std::nullopt_t) {}
    Boxed(const T& value) : p_(std::make_unique<T>(value)) {}
    Boxed(T&& value) : p_(std::make_unique<T>(std::move(value))) {}
    Boxed(std::optional<T>&& value) {
        if (value) p_ = std::make_unique<T>(std::move(*value));
    }
    Boxed(const Boxed& other) : p_(other.p_ ? std::make_unique<T>(*other.p_) : nullptr) {}
    Boxed(Boxed&&) noexcept = default;
    Boxed& operator=(const Boxed& other) {
        if (this != &other) p_ = other.p_ ? std::make_unique<T>(*other.p_) : nullptr;
        return *this;
    }
    Boxed& operator=(Boxed&&) noexcept = default;
    Boxed& operator=(std::nullopt_t) {
        p_.reset();
        return *this;
    }

    template <class... Args>
    T& emplace(Args&&... args) {
        p_ = std::make_unique<T>(std::forward<Args>(args)...);
        return *p_;
    }
    void reset() { p_.reset(); }

    bool has_value() const { return p_ != nullptr; }
    explicit operator bool() const { return p_ != nullptr; }
    T& operator*() { return *p_; }
    const T& operator*() const { return *p_; }
    T* operator->() { return p_.get(); }
    const T* operator->() const { return p_.get(); }
    const T& value() const {
        if (!p_) throw std::bad_optional_access();
        return *p_;
    }
    // nullptr when empty.
    const T* get() const { return p_.get(); }

private:
    std::unique_ptr<T> p_;
};

}  // namespace mainstay::config
