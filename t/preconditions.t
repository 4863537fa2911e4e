# RFC 9110 13.2.2 through the real server: every case of
# docs/conformance.md section 3 and the rows of section 6 that concern
# files.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestRequest;
use Apache::TestUtil;
use lib 't/lib';
use CondCacheTest;

set_mtime('static/a.txt');
set_mtime('static/range.txt');

my $url = '/static/a.txt';
my $T   = tag_of('static/a.txt');
my $W   = "W/$T";
my $OLD   = 'Sat, 01 Jan 1994 00:00:00 GMT';
my $LATER = 'Mon, 07 Nov 1994 08:49:37 GMT';   # after LM, client clock
my $NOW   = http_date(time);

# [ what, method, [ headers ], status ]
my @cases = (
    # step 1: If-Match, strong, any member
    [ 'IM matches',                   GET => [ 'If-Match' => $T ], 200 ],
    [ 'IM differs',                   GET => [ 'If-Match' => '"x"' ], 412 ],
    [ 'IM weak tag',                  GET => [ 'If-Match' => $W ], 412 ],
    [ 'IM weak member, then tag (6)', GET => [ 'If-Match' => "$W, $T" ], 200 ],
    [ 'IM star',                      GET => [ 'If-Match' => '*' ], 200 ],
    [ 'IM malformed',                 GET => [ 'If-Match' => 'abc' ], 412 ],
    [ 'IM star mixed with tags',      GET => [ 'If-Match' => "*, $T" ], 412 ],
    [ 'IM empty names no tag',        GET => [ 'If-Match' => '' ], 412 ],
    [ 'IM a lone comma',              GET => [ 'If-Match' => ',' ], 412 ],
    [ 'IM on HEAD',                   HEAD => [ 'If-Match' => '"x"' ], 412 ],
    # step 2: If-Unmodified-Since
    [ 'IUS = LM',                     GET => [ 'If-Unmodified-Since' => LM_DATE ], 200 ],
    [ 'IUS earlier',                  GET => [ 'If-Unmodified-Since' => $OLD ], 412 ],
    [ 'IUS 1960',                     GET => [ 'If-Unmodified-Since' => 'Fri, 01 Jan 1960 00:00:00 GMT' ], 412 ],
    [ 'IUS garbage ignored (6)',      GET => [ 'If-Unmodified-Since' => 'garbage' ], 200 ],
    [ 'IM true, old IUS (6)',         GET => [ 'If-Match' => $T, 'If-Unmodified-Since' => $OLD ], 200 ],
    # step 3: If-None-Match, weak, any member
    [ 'INM matches',                  GET => [ 'If-None-Match' => $T ], 304 ],
    [ 'INM weak matches',             GET => [ 'If-None-Match' => $W ], 304 ],
    [ 'INM list',                     GET => [ 'If-None-Match' => qq{"x", ,$W} ], 304 ],
    [ 'INM differs',                  GET => [ 'If-None-Match' => '"x"' ], 200 ],
    [ 'INM star',                     GET => [ 'If-None-Match' => '*' ], 304 ],
    [ 'INM on HEAD',                  HEAD => [ 'If-None-Match' => $T ], 304 ],
    [ 'INM malformed',                GET => [ 'If-None-Match' => 'abc' ], 200 ],
    [ 'INM star mixed with tags',     GET => [ 'If-None-Match' => "$T, *" ], 200 ],
    [ 'INM, old IMS (6)',             GET => [ 'If-None-Match' => $T, 'If-Modified-Since' => $OLD ], 304 ],
    [ 'IUS now, INM (6)',             GET => [ 'If-Unmodified-Since' => $NOW, 'If-None-Match' => $T ], 304 ],
    [ 'INM differs, IMS = LM',        GET => [ 'If-None-Match' => '"x"', 'If-Modified-Since' => LM_DATE ], 200 ],
    [ 'INM on two lines',             GET => [ 'If-None-Match' => '"x"', 'If-None-Match' => $T ], 304 ],
    # step 4: If-Modified-Since
    [ 'IMS = LM',                     GET => [ 'If-Modified-Since' => LM_DATE ], 304 ],
    [ 'IMS later, client clock (6)',  GET => [ 'If-Modified-Since' => $LATER ], 304 ],
    [ 'IMS rfc850',                   GET => [ 'If-Modified-Since' => 'Sunday, 06-Nov-94 08:49:37 GMT' ], 304 ],
    [ 'IMS asctime',                  GET => [ 'If-Modified-Since' => 'Sun Nov  6 08:49:37 1994' ], 304 ],
    [ 'IMS earlier',                  GET => [ 'If-Modified-Since' => $OLD ], 200 ],
    [ 'IMS garbage',                  GET => [ 'If-Modified-Since' => 'yesterday' ], 200 ],
    [ 'IMS out of range',             GET => [ 'If-Modified-Since' => 'Sun, 06 Nov 19940 08:49:37 GMT' ], 200 ],
    [ 'IMS on two lines',             GET => [ 'If-Modified-Since' => LM_DATE, 'If-Modified-Since' => LM_DATE ], 200 ],
    [ 'IMS on HEAD',                  HEAD => [ 'If-Modified-Since' => LM_DATE ], 304 ],
    # a date after the request is ignored (a 304 would stick until then)
    [ 'IMS in the year 9999 (6)',     GET => [ 'If-Modified-Since' => 'Fri, 31 Dec 9999 23:59:59 GMT' ], 200 ],
    [ 'IMS tomorrow',                 GET => [ 'If-Modified-Since' => http_date(time + 86400) ], 200 ],
    # methods without preconditions
    [ 'OPTIONS ignores IM',           OPTIONS => [ 'If-Match' => '"x"' ], 200 ],
);

my $range_url = '/static/range.txt';
my $RT = tag_of('static/range.txt');
my @range_cases = (
    # step 5: Range and If-Range
    [ 'Range',                        [ Range => 'bytes=0-9' ], 206 ],
    [ 'If-Range tag matches',         [ Range => 'bytes=0-9', 'If-Range' => $RT ], 206 ],
    [ 'If-Range tag differs',         [ Range => 'bytes=0-9', 'If-Range' => '"x"' ], 200 ],
    [ 'If-Range weak tag',            [ Range => 'bytes=0-9', 'If-Range' => "W/$RT" ], 200 ],
    [ 'If-Range date = LM',           [ Range => 'bytes=0-9', 'If-Range' => LM_DATE ], 206 ],
    [ 'If-Range other date',          [ Range => 'bytes=0-9', 'If-Range' => $LATER ], 200 ],
    [ 'If-Range garbage',             [ Range => 'bytes=0-9', 'If-Range' => 'soon' ], 200 ],
    [ 'INM weak with Range (6)',      [ Range => 'bytes=0-9', 'If-None-Match' => "W/$RT" ], 304 ],
    [ 'INM, Range, If-Range (6)',     [ Range => 'bytes=0-9', 'If-None-Match' => $RT, 'If-Range' => $RT ], 304 ],
    [ 'IMS = LM with Range (6)',      [ Range => 'bytes=0-9', 'If-Modified-Since' => LM_DATE ], 304 ],
    [ 'IM true with Range',           [ Range => 'bytes=0-9', 'If-Match' => $RT ], 206 ],
    [ 'IM false with Range',          [ Range => 'bytes=0-9', 'If-Match' => '"x"' ], 412 ],
);

plan tests => @cases + 2 * @range_cases + 18;

for my $c (@cases) {
    my ($what, $method, $headers, $want) = @$c;
    no strict 'refs';
    my $r = &{$method}($url, @$headers);
    ok t_cmp($r->code, $want, "$what: $method @$headers");
}
# HEAD gets the status GET gets (RFC 9110 9.3.2), If-Range included
for my $c (@range_cases) {
    my ($what, $headers, $want) = @$c;
    for my $method (qw(GET HEAD)) {
        no strict 'refs';
        my $r = &{$method}($range_url, @$headers);
        ok t_cmp($r->code, $want, "$what: $method @$headers");
    }
}

# A 304 carries the 200's ETag and no body; a 206 carries the tag too.
my $r;
ok t_cmp(note_for(GET => $url, sub { $r = GET $url, 'If-None-Match' => $T }),
         '304 inm-weak-match', '304 note');
ok t_cmp($r->code, 304, '304');
ok t_cmp($r->header('ETag'), $T, '304 carries the ETag');
ok t_cmp(length $r->content, 0, '304 has no body');
ok t_cmp($r->header('Content-Type'), undef, '304 has no Content-Type');
$r = GET $range_url, Range => 'bytes=0-9', 'If-Range' => $RT;
ok t_cmp($r->header('ETag'), $RT, '206 carries the ETag');
ok t_cmp($r->content, "1\n2\n3\n4\n5\n", '206 body is the range');
ok t_cmp(note_for(GET => $url, sub { GET_RC($url, 'If-Match' => '"x"') }),
         '412 if-match-failed', '412 note');
ok t_cmp(GET_RC($url, 'If-Match' => '"x"'), 412, '412');

# A very long list is scanned to its end.
my $long = join ', ', ('"zz"') x 500, $T;
ok t_cmp(GET_RC($url, 'If-None-Match' => $long), 304, 'long INM list');

# The 304 carries what the 200 carries: mod_expires, mod_headers, Vary.
set_mtime('headers/a.txt');
my $HT = tag_of('headers/a.txt');
my $full = GET '/headers/a.txt';
my $nm   = GET '/headers/a.txt', 'If-None-Match' => $HT;
ok t_cmp($nm->code, 304, 'headers: 304');
ok t_cmp($nm->header('ETag'), $full->header('ETag'), 'same ETag');
ok t_cmp($nm->header('Last-Modified'), $full->header('Last-Modified'),
         'same Last-Modified');
ok t_cmp($nm->header('Cache-Control'), $full->header('Cache-Control'),
         'same Cache-Control');
ok t_cmp($nm->header('Vary'), $full->header('Vary'), 'same Vary');
ok t_cmp(HTTP::Date::str2time($nm->header('Expires'))
             - HTTP::Date::str2time($nm->header('Date')),
         3600, '304 Expires = Date + 1 hour, as the 200 for its type');
ok t_cmp(HTTP::Date::str2time($full->header('Expires'))
             - HTTP::Date::str2time($full->header('Date')),
         3600, '200 Expires = Date + 1 hour');
ok t_cmp($full->header('Cache-Control'), 'max-age=3600, public',
         'one Cache-Control');
