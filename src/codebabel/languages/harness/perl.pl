# A fragment of every Perl test harness codebabel writes (languages/perl.py), kept here as real
# Perl code. languages/render.py's harness_code reads it: each part runs from its
# `codebabel-part: NAME` line to the next, and @ASSERT_MARKER@ and @FLOAT_TOLERANCE@ become
# languages/base.py's ASSERT_MARKER and FLOAT_TOLERANCE.
# helpers: __codebabel_eq, which compares by the return type's spec (languages/perl.py's _SPEC: "int",
# ["list", ...]; "any" by the shape of the expected value), and __codebabel_check.

# codebabel-part: helpers
use Scalar::Util ();

sub __codebabel_num_eq {
    my ($got, $exp) = @_;
    return defined($got) && !ref($got) && Scalar::Util::looks_like_number($got)
        && ($got == $exp || abs($got - $exp) < @FLOAT_TOLERANCE@);
}

sub __codebabel_eq {
    my ($got, $exp, $t) = @_;
    if (ref($t) eq "ARRAY") {
        my ($kind, @args) = @$t;
        if ($kind eq "optional") {
            return !defined($got) if !defined($exp);
            return __codebabel_eq($got, $exp, $args[0]);
        }
        if ($kind eq "list" || $kind eq "tuple") {
            return 0 unless ref($got) eq "ARRAY" && @$got == @$exp;
            for my $i (0 .. $#$exp) {
                return 0 unless __codebabel_eq($got->[$i], $exp->[$i], $kind eq "list" ? $args[0] : $args[$i]);
            }
            return 1;
        }
        if ($kind eq "dict") {
            return 0 unless ref($got) eq "HASH" && keys(%$got) == keys(%$exp);
            for my $k (keys %$exp) {
                return 0 unless exists($got->{$k}) && __codebabel_eq($got->{$k}, $exp->{$k}, $args[1]);
            }
            return 1;
        }
        return 0;
    }
    return ($got ? 1 : 0) == ($exp ? 1 : 0) if $t eq "bool";
    return __codebabel_num_eq($got, $exp) if $t eq "int" || $t eq "float";
    return defined($got) && !ref($got) && $got eq $exp if $t eq "str";
    return !defined($got) if $t eq "none";
    # any: by the shape of the expected value
    return !defined($got) if !defined($exp);
    if (ref($exp) eq "ARRAY") {
        return 0 unless ref($got) eq "ARRAY" && @$got == @$exp;
        for my $i (0 .. $#$exp) { return 0 unless __codebabel_eq($got->[$i], $exp->[$i], "any"); }
        return 1;
    }
    if (ref($exp) eq "HASH") {
        return 0 unless ref($got) eq "HASH" && keys(%$got) == keys(%$exp);
        for my $k (keys %$exp) {
            return 0 unless exists($got->{$k}) && __codebabel_eq($got->{$k}, $exp->{$k}, "any");
        }
        return 1;
    }
    return 0 if !defined($got) || ref($got);
    return __codebabel_num_eq($got, $exp)
        if Scalar::Util::looks_like_number($got) && Scalar::Util::looks_like_number($exp);
    return $got eq $exp;
}

sub __codebabel_check {
    my ($i, $got, $exp, $t) = @_;
    return if __codebabel_eq($got, $exp, $t);
    print STDERR "@ASSERT_MARKER@ test $i\n";
    exit 1;
}
