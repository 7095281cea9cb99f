// A fragment of every C++ test harness codebabel writes (languages/cpp.py), kept here as real
// C++ code. languages/render.py's harness_code reads it: each part runs from its
// `codebabel-part: NAME` line to the next, and @ASSERT_MARKER@ and @FLOAT_TOLERANCE@ become
// languages/base.py's ASSERT_MARKER and FLOAT_TOLERANCE.
// helpers: codebabel::Eq<T>::eq (doubles within the tolerance, containers element by element) and
// codebabel::check, between the completed function and main.

// codebabel-part: helpers
namespace codebabel {
template <class T> struct Eq {
    static bool eq(const T& a, const T& b) { return a == b; }
};
template <> struct Eq<double> {
    static bool eq(const double& a, const double& b) { return a == b || std::fabs(a - b) < @FLOAT_TOLERANCE@; }
};
template <class T> struct Eq<std::vector<T>> {
    static bool eq(const std::vector<T>& a, const std::vector<T>& b) {
        if (a.size() != b.size()) return false;
        for (std::size_t i = 0; i < a.size(); i++)
            if (!Eq<T>::eq(a[i], b[i])) return false;
        return true;
    }
};
template <class K, class V> struct Eq<std::map<K, V>> {
    static bool eq(const std::map<K, V>& a, const std::map<K, V>& b) {
        if (a.size() != b.size()) return false;
        for (const auto& kv : b) {
            auto it = a.find(kv.first);
            if (it == a.end() || !Eq<V>::eq(it->second, kv.second)) return false;
        }
        return true;
    }
};
template <class T> struct Eq<std::optional<T>> {
    static bool eq(const std::optional<T>& a, const std::optional<T>& b) {
        return a.has_value() == b.has_value() && (!a.has_value() || Eq<T>::eq(*a, *b));
    }
};
template <class... Ts> struct Eq<std::tuple<Ts...>> {
    template <std::size_t... I>
    static bool each(const std::tuple<Ts...>& a, const std::tuple<Ts...>& b, std::index_sequence<I...>) {
        return (true && ... && Eq<Ts>::eq(std::get<I>(a), std::get<I>(b)));
    }
    static bool eq(const std::tuple<Ts...>& a, const std::tuple<Ts...>& b) {
        return each(a, b, std::index_sequence_for<Ts...>{});
    }
};
template <class... Ts> struct Eq<std::variant<Ts...>> {
    template <std::size_t... I>
    static bool each(const std::variant<Ts...>& a, const std::variant<Ts...>& b, std::index_sequence<I...>) {
        return (false || ... || (a.index() == I && Eq<Ts>::eq(std::get<I>(a), std::get<I>(b))));
    }
    static bool eq(const std::variant<Ts...>& a, const std::variant<Ts...>& b) {
        return a.index() == b.index() && each(a, b, std::index_sequence_for<Ts...>{});
    }
};
inline void check(bool ok, int test) {
    if (!ok) {
        std::cerr << "@ASSERT_MARKER@ test " << test << std::endl;
        std::exit(1);
    }
}
}  // namespace codebabel
