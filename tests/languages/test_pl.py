"""Perl: hand-written solutions pass the translated tests, wrong ones fail with the right status."""

from codebabel.execute.status import Status
from tests.langkit import check_solutions

SOLUTIONS = {
    "HumanEval/0": """    for my $i (0 .. $#$numbers) {
        for my $j ($i + 1 .. $#$numbers) {
            return 1 if abs($numbers->[$i] - $numbers->[$j]) < $threshold;
        }
    }
    return 0;
}
""",
    "HumanEval/2": "    return $number - int($number);\n}\n",
    "HumanEval/4": """    my $n = @$numbers;
    my $mean = 0;
    $mean += $_ / $n for @$numbers;
    my $dev = 0;
    $dev += abs($_ - $mean) / $n for @$numbers;
    return $dev;
}
""",
    # tuple -> array reference
    "HumanEval/8": """    my ($s, $p) = (0, 1);
    for my $x (@$numbers) { $s += $x; $p *= $x; }
    return [$s, $p];
}
""",
    # parameters a and b are $a_ and $b_, so sort's $a and $b still work
    "HumanEval/11": """    my @x = split //, $a_;
    my @y = split //, $b_;
    my @sorted = sort { $a <=> $b } (3, 1, 2);
    return undef unless "@sorted" eq "1 2 3";
    return join "", map { $x[$_] eq $y[$_] ? "0" : "1" } 0 .. $#x;
}
""",
    # optional return: a bare return is undef in scalar context
    "HumanEval/12": """    return unless @$strings;
    my $best = $strings->[0];
    for my $s (@$strings) { $best = $s if length($s) > length($best); }
    return $best;
}
""",
    # list[any] argument
    "HumanEval/22": "    return [grep { defined && !ref && /^-?\\d+\\z/ } @$values];\n}\n",
    "HumanEval/23": "    return length($string);\n}\n",
    "HumanEval/29": "    return [grep { index($_, $prefix) == 0 } @$strings];\n}\n",
    "HumanEval/34": """    my %seen;
    return [sort { $a <=> $b } grep { !$seen{$_}++ } @$l];
}
""",
    "HumanEval/53": "    return $x + $y;\n}\n",
    # dict -> hash reference
    "HumanEval/111": """    my %counts;
    $counts{$_}++ for grep { length } split / /, $test;
    my $most = 0;
    for (values %counts) { $most = $_ if $_ > $most; }
    return { map { $_ => $counts{$_} } grep { $counts{$_} == $most } keys %counts };
}
""",
    # a tuple of (str, bool): the bool compares by truthiness, so a comparison's own "" or 1 passes
    "HumanEval/112": """    my %drop = map { $_ => 1 } split //, $c;
    my $r = join "", grep { !$drop{$_} } split //, $s;
    return [$r, $r eq reverse($r)];
}
""",
    "HumanEval/136": """    my ($neg, $pos);
    for my $x (@$lst) {
        $neg = $x if $x < 0 && (!defined $neg || $x > $neg);
        $pos = $x if $x > 0 && (!defined $pos || $x < $pos);
    }
    return [$neg, $pos];
}
""",
    # union arguments and an optional union return, compared by the expected value's shape
    "HumanEval/137": """    my ($x, $y) = ($a_, $b_);
    (my $fx = $x) =~ tr/,/./;
    (my $fy = $y) =~ tr/,/./;
    return undef if $fx == $fy;
    return $fx > $fy ? $x : $y;
}
""",
    "HumanEval/162": """    return undef if $text eq "";
    use Digest::MD5 qw(md5_hex);
    return md5_hex($text);
}
""",
}

WRONG = {
    "HumanEval/23": ("    return length($string) + 1;\n}\n", Status.ASSERTION_FAILED),
    "HumanEval/53": ("    return $x + ;\n}\n", Status.SYNTAX_ERROR),
    "HumanEval/29": ("    return [grep { index($_, $prefix) == 0 } @$strings];\n", Status.SYNTAX_ERROR),  # no }
    "HumanEval/2": ("    die \"nope\";\n}\n", Status.RUNTIME_ERROR),
    "HumanEval/4": ("    return $numbers->nope();\n}\n", Status.RUNTIME_ERROR),
    "HumanEval/8": ("    use No::Such::Module;\n    return [0, 1];\n}\n", Status.COMPILE_ERROR),
    "HumanEval/34": ("    exit 0;\n}\n", Status.RUNTIME_ERROR),  # early exit is not a pass
    "HumanEval/12": ("    return \"\";\n}\n", Status.ASSERTION_FAILED),  # "" is not undef
    # a list returned as a list, not an array reference: in scalar context the comma operator gives 1
    "HumanEval/136": ("    return (undef, 1);\n}\n", Status.ASSERTION_FAILED),
}


def test_solutions_pass_and_wrong_ones_fail_with_their_status():
    check_solutions("pl", SOLUTIONS, WRONG)
