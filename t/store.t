# The validator store (docs/conformance.md 7) on one server, with shmcb: a
# conditional request for handler output answered from a stored entry
# without running the handler (mod_lua and CGI handlers count their runs),
# the client's own directives, lifetimes, Vary with mod_deflate, users,
# invalidation by writes, 412 for a lost update, and mod_status.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestRequest;
use Apache::TestUtil;
use File::Path ();
use HTTP::Date ();
use MIME::Base64 ();
use lib 't/lib';
use CondCacheTest;

plan tests => 184 + 6 + 2 * 7 + 8 * 2 * 3 + 2 * 10;

my $runs_dir = Apache::Test::vars('t_logs') . '/store-runs';
File::Path::rmtree($runs_dir);

# how often the handler of a URI ran (page.lua and count.sh count)
sub runs {
    my $uri = shift;
    my ($cgi) = $uri =~ m{/(\w+\.sh)\b};
    my $name = $cgi ? $cgi : $uri =~ /\?/ ? $uri : "$uri?";
    $name =~ s/[^A-Za-z0-9]/_/g unless $cgi;
    open my $fh, '<', "$runs_dir/$name" or return 0;
    my $n = <$fh>;
    return $n + 0;
}

sub set_version {
    my ($uri, $v) = @_;
    my $name = $uri =~ /count\.sh/ ? 'count.sh' : $uri =~ /\?/ ? $uri : "$uri?";
    $name =~ s/[^A-Za-z0-9]/_/g unless $uri =~ /count\.sh/;
    File::Path::mkpath($runs_dir);
    open my $fh, '>', "$runs_dir/$name.version" or die $!;
    print $fh "$v\n";
}

# the store's counters, as mod_status shows them
sub counters {
    my $auto = GET_BODY '/condcache-status?auto';
    return $auto =~ /^CondCacheStore(\w+): (\d+)$/mg;
}

# what untagged.sh does ('' for its short page)
sub set_mode {
    File::Path::mkpath($runs_dir);
    open my $fh, '>', "$runs_dir/untagged.sh.mode" or die $!;
    print $fh shift, "\n";
}

sub basic {
    my $user = shift;
    return Authorization => 'Basic ' . MIME::Base64::encode_base64($user, '');
}

# --- a mod_lua page: 304 from the store, the handler not run ---------------
my $u = '/store/page.lua?case=basic';
my $r = GET $u;
my $T = $r->header('ETag');
my $LM = $r->header('Last-Modified');
ok t_cmp($r->code, 200, 'lua: 200');
ok t_cmp($T && $T =~ /^"[0-9a-f]{32}"$/ ? 1 : 0, 1, 'lua: a digest tag');
ok t_cmp($LM, qr/GMT$/, 'lua: a Last-Modified from the store');
ok t_cmp(runs($u), 1, 'the handler ran once');

my $nm;
ok t_cmp(note_for(GET => '/store/page.lua',
                  sub { $nm = GET $u, 'If-None-Match' => $T }),
         '304 store-match', 'note: 304 store-match');
ok t_cmp($nm->code, 304, 'INM: 304 from the store');
ok t_cmp(runs($u), 1, 'the handler did not run');
ok t_cmp($nm->header('ETag'), $T, '304: the ETag');
ok t_cmp($nm->header('Last-Modified'), $LM, '304: the Last-Modified');
ok t_cmp($nm->content, '', '304: no body');
ok t_cmp(HEAD_RC($u, 'If-None-Match' => $T), 304, 'HEAD, INM: 304');
ok t_cmp(GET_RC($u, 'If-None-Match' => "W/$T"), 304, 'weak INM: 304');
ok t_cmp(GET_RC($u, 'If-Modified-Since' => $LM), 304, 'IMS = LM: 304');
ok t_cmp(runs($u), 1, 'the handler did not run');
ok t_cmp(GET_RC($u, 'If-None-Match' => '"other"'), 200, 'INM differs: 200');
ok t_cmp(runs($u), 2, 'the handler ran');
ok t_cmp(GET_RC($u, 'If-Modified-Since' => 'Thu, 01 Jan 2015 00:00:00 GMT'),
         200, 'IMS before LM: 200');
ok t_cmp(runs($u), 3, 'the handler ran');
ok t_cmp(GET_RC($u, 'If-None-Match' => '"other"', 'If-Modified-Since' => $LM),
         200, 'INM wins over IMS (13.2.2)');
ok t_cmp(GET_RC($u, 'If-None-Match' => 'garbage'), 200,
         'a malformed INM matches nothing');
ok t_cmp(GET_RC($u, 'If-Modified-Since' => 'garbage'), 200,
         'a malformed IMS is ignored');
my $before = runs($u);

# the page's Last-Modified is when its tag was first seen
sleep 1;
$r = GET $u;
ok t_cmp($r->header('Last-Modified'), $LM, 'same bytes: same Last-Modified');
ok t_cmp($r->header('ETag'), $T, 'same tag');
set_version($u, 2);
$r = GET $u;
ok t_cmp($r->header('ETag') ne $T ? 1 : 0, 1, 'new bytes: a new tag');
ok t_cmp(HTTP::Date::str2time($r->header('Last-Modified')) >
         HTTP::Date::str2time($LM), 1, 'new bytes: a later Last-Modified');
ok t_cmp(GET_RC($u, 'If-None-Match' => $T), 200, 'the old tag: 200');
ok t_cmp(GET_RC($u, 'If-Modified-Since' => $LM), 200,
         'IMS before the new Last-Modified: 200');
my $T2 = $r->header('ETag');
$before = runs($u);
ok t_cmp(GET_RC($u, 'If-None-Match' => $T2), 304, 'the new tag: 304');
ok t_cmp(runs($u), $before, 'from the store');

# --- a CGI -------------------------------------------------------------------
my $c = '/store/count.sh';
$r = GET $c;
my $C = $r->header('ETag');
ok t_cmp($r->code, 200, 'CGI: 200');
$before = runs($c);
ok t_cmp(GET_RC($c, 'If-None-Match' => $C), 304, 'CGI, INM: 304');
ok t_cmp(runs($c), $before, 'CGI: the script did not run');

# --- the client's own directives (RFC 9111 5.2.1, 5.4) ---------------------
$before = runs($u);
ok t_cmp(GET_RC($u, 'If-None-Match' => $T2, 'Cache-Control' => 'no-cache'),
         304, 'no-cache: 304');
ok t_cmp(runs($u), $before + 1, 'no-cache: from the handler');
ok t_cmp(GET_RC($u, 'If-None-Match' => $T2, 'Cache-Control' => 'max-age=0'),
         304, 'max-age=0: 304');
ok t_cmp(runs($u), $before + 2, 'max-age=0: from the handler');
ok t_cmp(GET_RC($u, 'If-None-Match' => $T2, 'Pragma' => 'no-cache'), 304,
         'Pragma: no-cache: 304');
ok t_cmp(runs($u), $before + 3, 'Pragma: no-cache: from the handler');
ok t_cmp(GET_RC($u, 'If-None-Match' => $T2, 'Pragma' => 'no-cache',
                'Cache-Control' => 'max-age=600'), 304,
         'Pragma beside Cache-Control');
ok t_cmp(runs($u), $before + 3, 'Pragma ignored: from the store');
ok t_cmp(GET_RC($u, 'If-None-Match' => $T2, 'Cache-Control' => 'min-fresh=10'),
         304, 'min-fresh within the lifetime');
ok t_cmp(runs($u), $before + 3, 'from the store');
ok t_cmp(GET_RC($u, 'If-None-Match' => $T2,
                'Cache-Control' => 'min-fresh=601'), 304,
         'min-fresh beyond the lifetime');
ok t_cmp(runs($u), $before + 4, 'from the handler');
sleep 2;
ok t_cmp(GET_RC($u, 'If-None-Match' => $T2, 'Cache-Control' => 'max-age=1'),
         304, 'max-age older than the entry');
ok t_cmp(runs($u), $before + 5, 'from the handler');
ok t_cmp(GET_RC($u, 'If-None-Match' => $T2, 'Cache-Control' => 'max-age=300'),
         304, 'max-age younger than the entry');
ok t_cmp(runs($u), $before + 5, 'from the store');

# the switch that ignores them
my $ig = '/store-ignore/page.lua';
my $IG = GET($ig)->header('ETag');
$before = runs($ig);
ok t_cmp(GET_RC($ig, 'If-None-Match' => $IG, 'Cache-Control' => 'no-cache'),
         304, 'ignored no-cache: 304');
ok t_cmp(GET_RC($ig, 'If-None-Match' => $IG, 'Pragma' => 'no-cache'), 304,
         'ignored Pragma: 304');
ok t_cmp(runs($ig), $before, 'CondCacheStoreIgnoreCacheControl: the store');

# no-store in the request: its response is not stored
my $ns = '/store/page.lua?case=request-no-store';
my $NS = GET($ns, 'Cache-Control' => 'no-store')->header('ETag');
ok t_cmp(note_for(GET => '/store/page.lua',
                  sub { GET_RC($ns, 'If-None-Match' => $NS) }),
         '304 digest-match', 'not stored: the handler runs, the digest answers');
ok t_cmp(runs($ns), 2, 'no-store request: nothing stored');
ok t_cmp(GET_RC($ns, 'If-None-Match' => $NS), 304, 'stored by the last one');
ok t_cmp(runs($ns), 2, 'from the store');

# --- an entry whose lifetime ended ------------------------------------------
my $sh = '/store-short/page.lua';
my $SH = GET($sh)->header('ETag');
$before = runs($sh);
ok t_cmp(GET_RC($sh, 'If-None-Match' => $SH), 304, 'fresh entry: 304');
ok t_cmp(runs($sh), $before, 'from the store');
sleep 3;
ok t_cmp(GET_RC($sh, 'If-None-Match' => $SH, 'Cache-Control' => 'max-stale'),
         304, 'stale, max-stale: 304');
ok t_cmp(runs($sh), $before, 'max-stale: from the store');
ok t_cmp(GET_RC($sh, 'If-None-Match' => $SH,
                'Cache-Control' => 'max-stale=0'), 304,
         'stale beyond max-stale=0');
ok t_cmp(runs($sh), $before + 1, 'from the handler, which refreshed it');
ok t_cmp(GET_RC($sh, 'If-None-Match' => $SH), 304, 'refreshed');
ok t_cmp(runs($sh), $before + 1, 'from the store again');
sleep 3;
ok t_cmp(note_for(GET => '/store-short/page.lua',
                  sub { GET_RC($sh, 'If-None-Match' => $SH) }),
         '304 digest-match', 'stale: the handler runs, the digest answers');
ok t_cmp(runs($sh), $before + 2, 'stale: from the handler');

# --- responses never stored --------------------------------------------------
for my $case (['no-store', 'Cache-Control' => 'no-store'],
              ['no-cache', 'Cache-Control' => 'no-cache'],
              ['Vary: *', 'Vary' => '*']) {
    my ($what, $field, $value) = @$case;
    my $x = '/store/page.lua?case=never-' . ($what =~ s/\W//gr);
    my $X = GET($x, "X-Send-$field" =~ s/Cache-Control/CC/r => $value)
        ->header('ETag');
    GET_RC($x, "X-Send-$field" =~ s/Cache-Control/CC/r => $value,
           'If-None-Match' => $X);
    ok t_cmp(runs($x), 2, "$what: never answered from the store");
    # and it removes what was there
    my $Y = GET($x)->header('ETag');
    ok t_cmp(GET_RC($x, 'If-None-Match' => $Y), 304, "$what: stored again");
    ok t_cmp(runs($x), 3, "$what: without it, from the store");
    GET_RC($x, "X-Send-$field" =~ s/Cache-Control/CC/r => $value);
    GET_RC($x, 'If-None-Match' => $Y);
    ok t_cmp(runs($x), 5, "$what: removes the entry");
}

# --- a file of the default handler is never stored (docs/conformance.md 8.1)
# its own validators cost less than the store's: its 304 is the file's
# decision, nothing is written for it, and a changed file is never hidden
# behind an entry
{
    my $path = file_path('store/static.txt');
    open my $fh, '>', $path or die "$path: $!";
    print $fh "version 1\n";
    close $fh;
    set_mtime('store/static.txt');
    my $S = tag_of('store/static.txt');
    my %was = counters();
    ok t_cmp(GET('/store/static.txt')->header('ETag'), $S,
             'a file in a store scope: its own tag');
    ok t_cmp(note_for(GET => '/store/static.txt', sub {
                 GET_RC('/store/static.txt', 'If-None-Match' => $S) }),
             '304 inm-weak-match', 'its 304 is the file\'s, not the store\'s');
    ok t_cmp(GET_RC('/store/static.txt', 'If-Modified-Since' => LM_DATE),
             304, 'and If-Modified-Since on its own time');
    my %now = counters();
    ok t_cmp("$now{Stores} $now{Hits}", "$was{Stores} $was{Hits}",
             'nothing stored for it, nothing answered from the store');
    GET_RC('/store/page.lua?case=counted');
    %was = %now;
    %now = counters();
    ok t_cmp($now{Stores} > $was{Stores} ? 1 : 0, 1,
             'a page of the same scope is stored: the counter counts');
    open $fh, '>', $path or die "$path: $!";
    print $fh "version 2, longer\n";
    close $fh;
    set_mtime('store/static.txt', LM_SECS + 60);
    $r = GET '/store/static.txt', 'If-None-Match' => $S;
    ok t_cmp($r->code . ' ' . $r->content, "200 version 2, longer\n",
             'the file changed: its old tag gets the new file');
    unlink $path;
}

# --- a 200 that leaves without a tag is not stored (docs/conformance.md 8.3)
# too large or too slow for its digest: it takes its request's entry away,
# so the next conditional request goes to the handler, never to an entry
# of what the page was before
for my $case (['big', 'too-large'], ['slow', 'slow']) {
    my ($mode, $why) = @$case;
    my $un = '/store/untagged.sh';
    set_mode('');
    my $U = GET($un)->header('ETag');
    $before = runs($un);
    ok t_cmp(GET_RC($un, 'If-None-Match' => $U), 304, "$mode: stored");
    ok t_cmp(runs($un), $before, "$mode: from the store");
    set_mode($mode);
    ok t_cmp(note_for(GET => $un, sub { $r = GET $un }), "pass $why",
             "$mode: a 200 without a tag (pass $why)");
    ok t_cmp($r->header('ETag'), undef, "$mode: no ETag");
    $before = runs($un);
    ok t_cmp(note_for(GET => $un, sub {
                 $r = GET $un, 'If-None-Match' => $U }), "pass $why",
             "$mode: the old tag goes to the handler");
    ok t_cmp($r->code . ' ' . length($r->content),
             '200 ' . length(GET_BODY($un)), "$mode: which sends the page");
    ok t_cmp(runs($un), $before + 2, "$mode: the handler ran");
}
set_mode('');

# --- Vary: Accept-Encoding with mod_deflate ----------------------------------
my $gz = '/store-gz/page.lua';
$r = GET $gz, 'Accept-Encoding' => 'gzip';
my $G = $r->header('ETag');
ok t_cmp($r->header('Content-Encoding'), 'gzip', 'gzip representation');
ok t_cmp($r->header('Vary'), qr/Accept-Encoding/i, 'Vary: Accept-Encoding');
my $I = GET($gz)->header('ETag');
ok t_cmp($G ne $I ? 1 : 0, 1, 'identity and gzip have their own tags');
$before = runs($gz);
$r = GET $gz, 'Accept-Encoding' => 'gzip, deflate', 'If-None-Match' => $G;
ok t_cmp($r->code, 304, 'gzip tag, gzip request: 304');
ok t_cmp($r->header('ETag'), $G, '304: the gzip tag, as the 200 had it');
ok t_cmp($r->header('Vary'), qr/Accept-Encoding/i, '304: Vary');
$r = GET $gz, 'If-None-Match' => $I;
ok t_cmp($r->code, 304, 'identity tag, identity request: 304');
ok t_cmp($r->header('ETag'), $I, '304: the identity tag');
ok t_cmp(runs($gz), $before, 'both from the store, side by side');
ok t_cmp(GET_RC($gz, 'Accept-Encoding' => 'gzip', 'If-None-Match' => $I),
         200, 'identity tag, gzip request: 200');
ok t_cmp(GET_RC($gz, 'If-None-Match' => $G), 200,
         'gzip tag, identity request: 200');
ok t_cmp(runs($gz), $before + 2, 'neither from the store');

# --- who the entry is for ----------------------------------------------------
my $au = '/store-auth/page.lua';
ok t_cmp(GET_RC($au, 'If-None-Match' => '"x"'), 401, 'no credentials: 401');
$r = GET $au, username => 'alice', password => 'wonderland';
my $A = $r->header('ETag');
ok t_cmp($r->content, qr/for alice/, 'alice: her page');
ok t_cmp(GET_RC($au, 'If-None-Match' => $A), 401,
         'her tag without credentials: 401, never 304');
ok t_cmp(GET_RC($au, 'If-None-Match' => $A, username => 'alice',
                password => 'wrong'), 401, 'wrong password: 401');
$before = runs($au);
ok t_cmp(GET_RC($au, 'If-None-Match' => $A, username => 'alice',
                password => 'wonderland'), 304, 'alice, her tag: 304');
ok t_cmp(runs($au), $before, 'from the store');
ok t_cmp(GET_RC($au, 'If-None-Match' => $A, username => 'bob',
                password => 'builder'), 200, 'bob, alice\'s tag: 200');
ok t_cmp(runs($au), $before + 1, 'bob: from the handler');
my $B = GET($au, username => 'bob', password => 'builder')->header('ETag');
ok t_cmp($A ne $B ? 1 : 0, 1, 'bob has his own page');
ok t_cmp(GET_RC($au, 'If-None-Match' => $B, username => 'bob',
                password => 'builder'), 304, 'bob, his tag: 304');
ok t_cmp(GET_RC($au, 'If-None-Match' => $B, username => 'alice',
                password => 'wonderland'), 200, 'alice, bob\'s tag: 200');

# credentials the server does not check: never stored, never answered
my $cr = '/store/page.lua?case=credentials';
my $CR = GET($cr, basic('mallory:x'))->header('ETag');
GET_RC($cr, basic('mallory:x'), 'If-None-Match' => $CR);
ok t_cmp(runs($cr), 2, 'Authorization, no user: not from the store');

# private and Set-Cookie without a user: not stored
for my $case (['private', 'cc=private'], ['Set-Cookie', 'cookie=abc']) {
    my $x = "/store/page.lua?$case->[1]";
    my $X = GET($x)->header('ETag');
    GET_RC($x, 'If-None-Match' => $X);
    ok t_cmp(runs($x), 2, "$case->[0], no user: not from the store");
}

# a cookie named by CondCacheStoreUser is the user
my $ck = '/store-cookie/page.lua?cookie=one';
my $K = GET($ck, Cookie => 'session=one')->header('ETag');
$before = runs($ck);
ok t_cmp(GET_RC($ck, Cookie => 'session=one', 'If-None-Match' => $K), 304,
         'the same cookie: 304');
ok t_cmp(runs($ck), $before, 'from the store');
ok t_cmp(note_for(GET => '/store-cookie/page.lua', sub {
             GET_RC($ck, Cookie => 'session=two', 'If-None-Match' => $K) }),
         '304 digest-match', 'another cookie: not that entry');
ok t_cmp(runs($ck), $before + 1, 'another cookie: from the handler');

# --- writes: invalidation (RFC 9111 4.4) and lost updates --------------------
$C = GET($c)->header('ETag');
$before = runs($c);
ok t_cmp(GET_RC($c, 'If-None-Match' => $C), 304, 'stored');
ok t_cmp(runs($c), $before, 'from the store');
ok t_cmp(POST($c, content => 'x')->code, 204, 'POST: 204');
ok t_cmp(runs($c), $before + 1, 'the POST ran');
ok t_cmp(GET_RC($c, 'If-None-Match' => $C), 304, 'after the POST: 304');
ok t_cmp(runs($c), $before + 2, 'the entry was removed: from the handler');

# a POST that redirects removes its Location's entries too
my $loc = '/store/page.lua?case=location';
my $L = GET($loc)->header('ETag');
GET_RC($loc, 'If-None-Match' => $L);
ok t_cmp(runs($loc), 1, 'stored');
ok t_cmp(POST("$c?see=$loc", content => 'x')->code, 303, 'POST: 303');
GET_RC($loc, 'If-None-Match' => $L);
ok t_cmp(runs($loc), 2, 'the Location\'s entry was removed');
my $cl = '/store/page.lua?case=content-location';
$L = GET($cl)->header('ETag');
GET_RC($cl, 'If-None-Match' => $L);
ok t_cmp(runs($cl), 1, 'stored');
ok t_cmp(POST("/store/page.lua?case=writer&cl=$cl", content => 'x')->code,
         204, 'POST with Content-Location: 204');
GET_RC($cl, 'If-None-Match' => $L);
ok t_cmp(runs($cl), 2, 'the Content-Location\'s entry was removed');
# an error does not invalidate
$L = GET($cl)->header('ETag');
$before = runs($cl);
ok t_cmp(POST($cl, 'X-Send-Status' => 500, content => 'x')->code, 500,
         'POST: 500');
ok t_cmp(runs($cl), $before + 1, 'the POST ran');
ok t_cmp(GET_RC($cl, 'If-None-Match' => $L), 304, 'after an error');
ok t_cmp(runs($cl), $before + 1, 'the entry stays: from the store');

# If-Match on PUT, decided from the store
$C = GET($c)->header('ETag');
$before = runs($c);
ok t_cmp(note_for(PUT => $c, sub {
             $r = PUT $c, content => 'new', 'If-Match' => '"lost-update"' }),
         '412 store-if-match-failed', 'note: 412 from the store');
ok t_cmp($r->code, 412, 'PUT, If-Match fails: 412');
ok t_cmp(runs($c), $before, 'the script did not run');
ok t_cmp(PUT($c, content => 'new', 'If-Unmodified-Since' =>
             'Thu, 01 Jan 2015 00:00:00 GMT')->code, 412,
         'PUT, If-Unmodified-Since fails: 412');
ok t_cmp(runs($c), $before, 'the script did not run');
ok t_cmp(note_for(PUT => $c, sub {
             $r = PUT $c, content => 'new', 'If-Match' => $C }),
         'proceed store-match', 'note: proceed');
ok t_cmp($r->code, 204, 'PUT, If-Match holds: the script answers');
ok t_cmp(runs($c), $before + 1, 'the script ran');
ok t_cmp(note_for(PUT => $c, sub {
             $r = PUT $c, content => 'new', 'If-Match' => '"lost-update"' }),
         'proceed store-miss', 'no entry (the PUT removed it): as today');

# --- a scope without the store -----------------------------------------------
my $off = '/store-off/page.lua';
my $OFF = GET($off)->header('ETag');
GET_RC($off, 'If-None-Match' => $OFF);
ok t_cmp(runs($off), 2, 'CondCacheStoreLifetime Off: no store');

# --- the 304 carries what the 200 carried (docs/conformance.md 7.6) ----------
my $po = '/store-policy/page.lua?cl=/store-policy/page.lua';
$r = GET $po;
my $P = $r->header('ETag');
$nm = GET $po, 'If-None-Match' => $P;
ok t_cmp($nm->code, 304, 'policy scope: 304');
ok t_cmp(runs($po), 1, 'from the store');
ok t_cmp($nm->header('Cache-Control'), $r->header('Cache-Control'),
         '304: the 200\'s Cache-Control');
ok t_cmp($nm->header('Cache-Control'), qr/^(?=.*\bpublic\b)(?=.*\bmax-age=3600\b)/,
         'the policy\'s');
ok t_cmp(HTTP::Date::str2time($nm->header('Expires')) -
         HTTP::Date::str2time($nm->header('Date')), 3600,
         '304: Expires = Date + 1 hour');
ok t_cmp($nm->header('Content-Location'), '/store-policy/page.lua',
         '304: Content-Location');


# --- what the review found: hosts, front controllers, cookies, writes -------

# one virtual host, several hosts (mod_vhost_alias, an application that
# reads Host): each host has its entries
my $hu = '/store/page.lua?case=hosts';
my $HA = GET($hu, Host => 'tenant-a.example')->header('ETag');
my $HB = GET($hu, Host => 'tenant-b.example')->header('ETag');
ok t_cmp($HA ne $HB ? 1 : 0, 1, 'two hosts, two pages');
$before = runs($hu);
ok t_cmp(GET_RC($hu, Host => 'tenant-a.example', 'If-None-Match' => $HB),
         200, 'another host\'s tag: 200');
ok t_cmp(GET_RC($hu, Host => 'Tenant-A.example', 'If-None-Match' => $HA),
         304, 'its own tag (the host in any case): 304');
ok t_cmp(runs($hu), $before + 1, 'only the other host\'s tag ran the page');

# virtual hosts never share entries (the same bytes, so the same tag,
# on another virtual host of the server)
my $vu = '/store/page.lua?case=vhosts';
my $VT = GET($vu)->header('ETag');
ok t_cmp(GET_RC($vu, 'If-None-Match' => $VT), 304, 'main server: stored');
$before = runs($vu);
Apache::TestRequest::module('condcache_errors');
ok t_cmp(note_for(GET => '/store/page.lua', sub {
             GET_RC($vu, 'If-None-Match' => $VT) }),
         '304 digest-match', 'another virtual host: its handler answers');
Apache::TestRequest::module('default');
ok t_cmp(runs($vu), $before + 1, 'not from the main server\'s entry');

# a front controller (mod_rewrite's internal redirect): the page's own
# authorization comes first, then the store
my $fc = '/fc/account';
$r = GET $fc, 'X-Allowed' => 'yes';
my $F = $r->header('ETag');
ok t_cmp($r->code, 200, 'front controller, allowed: 200');
ok t_cmp(GET_RC($fc, 'X-Allowed' => 'yes', 'If-None-Match' => $F), 304,
         'allowed, its tag: 304');
ok t_cmp(GET_RC($fc, 'If-None-Match' => $F), 403,
         'not allowed, the tag: 403, never 304');
ok t_cmp(GET_RC($fc, 'If-Modified-Since' => 'Fri, 31 Dec 2100 00:00:00 GMT'),
         403, 'not allowed, IMS: 403');

# cookies, where CondCacheStoreUser names none: never the store's
my $co = '/store/page.lua?case=cookies';
my $CO = GET($co, Cookie => 'session=alice')->header('ETag');
GET_RC($co, Cookie => 'session=mallory', 'If-None-Match' => $CO);
ok t_cmp(runs($co), 2, 'a request with a cookie: not from the store');

# a private response without a user takes only its own entry away
my $wp = '/store-cookie/page.lua?case=wipe';
my $W1 = GET($wp, Cookie => 'session=one')->header('ETag');
GET_RC($wp, 'X-Send-CC' => 'private');
$before = runs($wp);
ok t_cmp(GET_RC($wp, Cookie => 'session=one', 'If-None-Match' => $W1), 304,
         'a user\'s entry stays after an anonymous private response');
ok t_cmp(runs($wp), $before, 'from the store');

# an anonymous entry lives in the URI's record (one call to the store);
# taken away, the record and the users' entries stay
my $wq = '/store-cookie/page.lua?case=wipe2';
my $U1 = GET($wq, Cookie => 'session=one')->header('ETag');
my $AN = GET($wq)->header('ETag');
$before = runs($wq);
ok t_cmp(GET_RC($wq, 'If-None-Match' => $AN), 304, 'anonymous: stored');
ok t_cmp(runs($wq), $before, 'from the store');
GET_RC($wq, 'X-Send-CC' => 'private');
GET_RC($wq, 'If-None-Match' => $AN);
ok t_cmp(runs($wq), $before + 2, 'a private answer took the anonymous entry');
ok t_cmp(GET_RC($wq, Cookie => 'session=one', 'If-None-Match' => $U1), 304,
         'the user\'s entry stays');
ok t_cmp(runs($wq), $before + 2, 'from the store');

# the same bytes with other fields: the entry is written again, and the
# 304 repeats the new ones (an unchanged entry is not written again)
my $cf = '/store/page.lua?case=fields';
my $CF = GET($cf, 'X-Send-CC' => 'max-age=60')->header('ETag');
ok t_cmp(GET($cf, 'If-None-Match' => $CF)->header('Cache-Control'),
         'max-age=60', '304 from the store: its Cache-Control');
ok t_cmp(GET($cf, 'X-Send-CC' => 'max-age=120')->header('ETag'), $CF,
         'the same bytes, the same tag');
$before = runs($cf);
$r = GET $cf, 'If-None-Match' => $CF;
ok t_cmp($r->code . ' ' . ($r->header('Cache-Control') // ''),
         '304 max-age=120', '304 from the store: the new Cache-Control');
ok t_cmp(runs($cf), $before, 'from the store');

# a write whose stored tag matches still tells its handler
my $wr = '/store/page.lua?case=write';
my $WR = GET($wr)->header('ETag');
ok t_cmp(note_for(PUT => '/store/page.lua', sub {
             $r = PUT $wr, content => 'x', 'If-Match' => $WR }),
         'proceed store-match', 'PUT, the stored tag holds');
ok t_cmp($r->header('X-Saw-If-Match'), $WR,
         'the handler sees If-Match (it may know better)');

# PATCH and DELETE, as PUT (docs/conformance.md 8.6): a failing If-Match
# or If-Unmodified-Since is answered 412 from the store before the
# handler runs; a holding one goes to the handler, which sees it, and the
# write's success removes the entry
for my $method (qw(PATCH DELETE)) {
    my $w = '/store/page.lua?case=write-' . lc $method;
    my $W = GET($w)->header('ETag');
    $before = runs($w);
    ok t_cmp(note_for($method => '/store/page.lua', sub {
                 $r = REQUEST($method => $w, 'If-Match' => '"lost-update"') }),
             '412 store-if-match-failed', "$method, If-Match fails: noted");
    ok t_cmp($r->code, 412, "$method, If-Match fails: 412");
    ok t_cmp(REQUEST($method => $w, 'If-Unmodified-Since' =>
                     'Thu, 01 Jan 2015 00:00:00 GMT')->code, 412,
             "$method, If-Unmodified-Since fails: 412");
    ok t_cmp(runs($w), $before, "$method: the handler did not run");
    ok t_cmp(GET_RC($w, 'If-None-Match' => $W), 304,
             "$method: a 412 removes nothing");
    ok t_cmp(runs($w), $before, 'from the store');
    ok t_cmp(note_for($method => '/store/page.lua', sub {
                 $r = REQUEST($method => $w, 'If-Match' => $W) }),
             'proceed store-match', "$method, the stored tag holds");
    ok t_cmp($r->code . ' ' . ($r->header('X-Saw-If-Match') // 'none'),
             "204 $W", "$method: the handler answers, and saw If-Match");
    ok t_cmp(GET_RC($w, 'If-None-Match' => $W), 304, "$method: 304");
    ok t_cmp(runs($w), $before + 2,
             "$method: its success removed the entry: from the handler");
}

# a POST that a CGI answers with a local redirect (mod_cgi makes it a GET)
$C = GET($c)->header('ETag');
$before = runs($c);
ok t_cmp(GET_RC($c, 'If-None-Match' => $C), 304, 'CGI stored');
ok t_cmp(runs($c), $before, 'from the store');
$r = POST $c, 'X-Local' => '/store/page.lua?case=after', content => 'x';
ok t_cmp($r->code, 200, 'POST, local redirect: the page');
GET_RC($c, 'If-None-Match' => $C);
ok t_cmp(runs($c), $before + 2, 'the POST\'s URI lost its entry');

# a Location relative to the request (RFC 3986 5.2)
for my $case (['?case=rel', '/store/page.lua?case=rel'],
              ['../store/page.lua?case=dots', '/store/page.lua?case=dots']) {
    my ($ref, $target) = @$case;
    my $X = GET($target)->header('ETag');
    GET_RC($target, 'If-None-Match' => $X);
    ok t_cmp(runs($target), 1, "$target stored");
    (my $q = $ref) =~ s/([?=&\/.])/sprintf '%%%02X', ord $1/ge;
    ok t_cmp(POST("/store/page.lua?case=writer&loc=$q", 'X-Send-Status' => 303,
                  content => 'x')->code, 303, "POST, Location: $ref");
    GET_RC($target, 'If-None-Match' => $X);
    ok t_cmp(runs($target), 2, "Location: $ref removes $target\'s entry");
}

# a Location or Content-Location of another origin (scheme, host or port)
# is left alone (RFC 9111 4.4): the entry of that path on this host stays,
# and so does the other host's or port's own; the same URI on this origin,
# absolute, is removed
{
    my $port = Apache::Test::vars('port');
    # [ what, the origin of the URI, the Host its entry is stored under,
    #   removed ]
    my @origins = (
        [ 'this origin', "http://localhost:$port", undef, 1 ],
        [ 'this origin, without a scheme', "//localhost:$port", undef, 1 ],
        [ 'another host, without a scheme', "//tenant-b.example:$port",
          undef, 0 ],
        [ 'another scheme', "https://localhost:$port", undef, 0 ],
        [ 'another host, this path', "http://tenant-b.example:$port",
          undef, 0 ],
        [ 'another host, its own entry', "http://tenant-b.example:$port",
          "tenant-b.example:$port", 0 ],
        [ 'another port, this path', 'http://localhost:9', undef, 0 ],
        [ 'another port, its own entry', 'http://localhost:9', 'localhost:9',
          0 ],
    );
    my $n = 0;
    for my $o (@origins) {
        my ($what, $origin, $host, $removed) = @$o;
        for my $field (['loc', 303, 'Location'],
                       ['cl', 204, 'Content-Location']) {
            my ($arg, $status, $name) = @$field;
            my $target = '/store/page.lua?case=origin' . ++$n;
            my @host = $host ? (Host => $host) : ();
            my $X = GET($target, @host)->header('ETag');
            GET_RC($target, @host, 'If-None-Match' => $X);
            ok t_cmp(runs($target), 1, "$name, $what: $target stored");
            (my $q = "$origin$target") =~
                s/([^A-Za-z0-9_.-])/sprintf '%%%02X', ord $1/ge;
            ok t_cmp(POST("/store/page.lua?case=writer&$arg=$q",
                          'X-Send-Status' => $status, content => 'x')->code,
                     $status, "POST, $name: $origin$target");
            GET_RC($target, @host, 'If-None-Match' => $X);
            ok t_cmp(runs($target), $removed ? 2 : 1,
                     "$name, $what: the entry "
                     . ($removed ? 'was removed' : 'stays'));
        }
    }
}

# must-revalidate added after the handler (mod_headers) still counts
my $mr = '/store-mr/page.lua';
my $MR = GET($mr)->header('ETag');
$before = runs($mr);
ok t_cmp(GET_RC($mr, 'If-None-Match' => $MR), 304, 'stored');
ok t_cmp(runs($mr), $before, 'from the store');
sleep 3;
GET_RC($mr, 'If-None-Match' => $MR, 'Cache-Control' => 'max-stale');
ok t_cmp(runs($mr), $before + 1,
         'must-revalidate: max-stale does not stretch it');

# --- mod_status ---------------------------------------------------------------
my $auto = GET_BODY '/condcache-status?auto';
my %st = $auto =~ /^CondCacheStore(\w+): (\d+)$/mg;
ok t_cmp($st{Hits} > 20 ? 1 : 0, 1, "status: hits ($st{Hits})");
ok t_cmp($st{Stores} > 20 ? 1 : 0, 1, "status: stores ($st{Stores})");
ok t_cmp($st{Invalidations} >= 3 ? 1 : 0, 1, "status: invalidations ($st{Invalidations})");
ok t_cmp($st{PreconditionFailed} >= 2 ? 1 : 0, 1, "status: 412s ($st{PreconditionFailed})");
ok t_cmp($st{Errors}, 0, 'status: no errors');
ok t_cmp($st{SavedBytes} > 1000 ? 1 : 0, 1, "status: bytes saved ($st{SavedBytes})");
ok t_cmp(GET_BODY('/condcache-status'), qr/validator store/,
         'status: the HTML page');
