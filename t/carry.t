# What a 304 and a 206 carry (docs/conformance.md 4.1, 4.4): the
# Cache-Control, Content-Location, Expires and Vary the 200 to the same
# request carries, and a 304 its own Date; for each way the module makes
# them: a file (mod_expires and mod_headers, or the module's policy), a
# file chosen by MultiViews, handler output with its digest, and an entry
# of the validator store.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestRequest;
use Apache::TestUtil;
use HTTP::Date qw(str2time);
use lib 't/lib';
use CondCacheTest;

my $store = '/store-policy/page.lua?case=carry&vary=Accept-Language'
            . '&cl=/store-policy/page.lua%3Fcase%3Dcarry';

# [ what, url, [ request fields ], the path the log shows, how the 304 is
#   made (its note), the fields the 200 has ]
my @cases = (
    [ 'mod_expires and mod_headers', '/headers/a.txt', [], '/headers/a.txt',
      '304 inm-weak-match', [qw(Cache-Control Expires Vary)] ],
    [ 'the policy', '/fresh/a.txt', [], '/fresh/a.txt',
      '304 inm-weak-match', [qw(Cache-Control Expires)] ],
    [ 'MultiViews', '/neg/index.html', [ 'Accept-Language' => 'en' ],
      '/neg/index.html.en', '304 inm-weak-match',
      [qw(Content-Location Vary)] ],
    [ 'a digest', '/dyn/carry.sh', [], '/dyn/carry.sh', '304 digest-match',
      [qw(Cache-Control Content-Location Expires Vary)] ],
    [ 'the store', $store, [], '/store-policy/page.lua', '304 store-match',
      [qw(Cache-Control Content-Location Expires Vary)] ],
);

plan tests => 14 * @cases;

for my $f (qw(headers/a.txt fresh/a.txt neg/index.html.en)) {
    set_mtime($f);
}

my $imf = qr/^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$/;

for my $c (@cases) {
    my ($what, $url, $fields, $logged, $how, $has) = @$c;
    my $full = GET $url, @$fields;
    ok t_cmp(join(' ', grep { defined $full->header($_) } @$has), "@$has",
             "$what: the 200 has @$has");
    my $T = $full->header('ETag');

    my $nm;
    ok t_cmp(note_for(GET => $logged, sub {
                 $nm = GET $url, @$fields, 'If-None-Match' => $T }),
             $how, "$what: $how");
    for my $name (qw(Cache-Control Content-Location Vary)) {
        ok t_cmp($nm->header($name), $full->header($name),
                 "$what: the 304's $name is the 200's");
    }
    ok t_cmp(expires_in($nm), expires_in($full),
             "$what: the 304's Expires - Date is the 200's");
    my $date = $nm->header('Date') // '';
    ok t_cmp($date, $imf, "$what: the 304 has a Date");
    ok t_cmp(abs(str2time($date) - time) <= 5 ? 1 : 0, 1,
             "$what: the 304's Date is now ($date)");

    my $part = GET $url, @$fields, Range => 'bytes=0-4';
    ok t_cmp($part->code . ' ' . $part->content,
             '206 ' . substr($full->content, 0, 5), "$what: 206");
    for my $name (qw(ETag Cache-Control Content-Location Vary)) {
        ok t_cmp($part->header($name), $full->header($name),
                 "$what: the 206's $name is the 200's");
    }
    ok t_cmp(expires_in($part), expires_in($full),
             "$what: the 206's Expires - Date is the 200's");
}
