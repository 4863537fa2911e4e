# The freshness policy: lifetimes and Cache-Control per scope and type,
# composed into one Cache-Control with an Expires that agrees
# (docs/conformance.md sections 4 and 5 and the rows of section 6).
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestRequest;
use Apache::TestUtil;
use HTTP::Date qw(str2time);
use LWP::UserAgent ();
use lib 't/lib';
use CondCacheTest;

plan tests => 78 + 2 * 17 + 2 * 8;

my $HOUR = 3600;
my $DAY  = 86400;

for my $f (qw(fresh/a.txt fresh/b.css fresh/c.png fresh/d.gif
              fresh/child/a.txt fresh/child/c.png fresh/child/d.gif
              fresh/ht/d.gif fresh/ht/b.css fresh/loc/old.txt)) {
    set_mtime($f) if -e file_path($f);
}

# --- one scope: default, exact type, wildcard ---------------------------
my $r = GET '/fresh/a.txt';
ok t_cmp(cc($r), 'max-age=3600, public', 'default lifetime, scope control');
ok t_cmp(expires_in($r), $HOUR, 'Expires = Date + max-age');
$r = GET '/fresh/b.css';
ok t_cmp(cc($r), 'max-age=2592000, immutable',
         'exact type: a month is 30 days; its own control list');
ok t_cmp(expires_in($r), 30 * $DAY, 'Expires agrees');
$r = GET '/fresh/c.png';
ok t_cmp(cc($r), 'max-age=604800, public', 'image/* wildcard');
$r = GET '/fresh/e.html';
ok t_cmp(cc($r), 'max-age=3600, public', 'no type rule: the default');

# --- a child <Directory> adds one type (docs/conformance.md 6.17) ----
ok t_cmp(cc(GET '/fresh/child/c.png'), 'max-age=172800, public',
         'child: its exact type');
ok t_cmp(cc(GET '/fresh/child/d.gif'), 'max-age=604800, public',
         'child: the parent\'s image/* wildcard survives');
ok t_cmp(cc(GET '/fresh/child/a.txt'), 'max-age=3600, public',
         'child: the parent\'s default');

# --- a .htaccess default, beside the server's by-type rules (5.7) ----------
# as mod_expires: a rule for the type, from any enclosing scope, beats a
# default; the innermost default counts for the types no scope names
ok t_cmp(cc(GET '/fresh/ht/d.gif'), 'max-age=604800, public',
         'the server\'s image/* beats a .htaccess default');
ok t_cmp(cc(GET '/fresh/ht/b.css'), 'max-age=2592000, immutable',
         'the server\'s text/css beats a .htaccess default');
ok t_cmp(cc(GET '/fresh/ht/a.txt'), 'max-age=300, public',
         'the .htaccess default beats the server\'s default');

# --- a handler that says "not to be stored" keeps saying it (5.6) -----------
$r = GET '/fresh/session.sh';
ok t_cmp(cc($r), 'no-store, no-cache, must-revalidate',
         'a session page: no lifetime, no public added');
ok t_cmp($r->header('Expires'), 'Thu, 19 Nov 1981 08:52:00 GMT',
         'and its own Expires in the past kept');

# private with its quote left open is still private: no lifetime, no public
$r = GET '/fresh/openquote.sh';
ok t_cmp(cc($r), 'private', 'private=" never closed: private, and no more');

# --- a handler's Cache-Control of 40,000 members, on 80 lines -------------
# composed once with the policy's, each member once (the first wins)
{
    # one field of 400 KB: past LWP's default line limit of 8 KB
    local @LWP::Protocol::http::EXTRA_SOCK_OPTS = (MaxLineLength => 0);
    $r = GET '/fresh/many.sh';
}
my @members = split /, /, cc($r);
ok t_cmp(scalar @members, 40_002, '40,000 members and the policy\'s two');
ok t_cmp("@members[0, 1, 39_999, 40_000, 40_001]",
         'm1_0 m1_1 m80_499 max-age=3600 public',
         'in order, the policy\'s last');
ok t_cmp(scalar(grep { /^m1_0\b/ } @members), 1, 'a member sent twice: once');

# --- <Location>: modification base, Expires off ---------------------------
{
    my $lm = time - $HOUR;
    set_mtime('fresh/loc/a.txt', $lm);
    $r = GET '/fresh/loc/a.txt';
    my $want = str2time($r->header('Last-Modified')) + $DAY
               - str2time($r->header('Date'));
    ok t_cmp(cc($r), "max-age=$want, public",
             'modification plus 1 day counts from Last-Modified');
    ok t_cmp($r->header('Expires'), undef, 'CondCacheExpires Off');
    set_mtime('fresh/loc/a.txt');        # 1994: the lifetime has ended
    $r = GET '/fresh/loc/a.txt';
    ok t_cmp(cc($r), 'max-age=0, public',
             'a lifetime that ended in the past gives max-age=0');
    set_mtime('fresh/loc/nolm/a.txt', $lm);
    ok t_cmp(cc(GET '/fresh/loc/nolm/a.txt'), "max-age=$DAY, public",
             'no Last-Modified: modification falls back to access');
}

# --- every directive in .htaccess, and inherited by a subdirectory -------
for my $dir ('/fresh/ht2', '/fresh/ht2/sub') {
    $r = GET "$dir/a.txt";
    ok t_cmp(cc($r), 'max-age=60, no-transform',
             "$dir: ExpiresByType A60 and CondCacheControl");
    ok t_cmp($r->header('Expires'), undef, "$dir: CondCacheExpires Off");
    ok t_cmp(cc(GET "$dir/b.css"), 'max-age=2592000, must-revalidate',
             "$dir: ControlByType; the server's text/css lifetime");
    ok t_cmp(cc(GET "$dir/lib.0123abcd.js"),
             'max-age=2592000, no-transform, immutable',
             "$dir: CondCacheFingerprint with its own lifetime");
    ok t_cmp(GET("$dir/missing.txt")->header('Cache-Control'), undef,
             "$dir: CondCacheFreshnessStatus 200 only");
}
ok t_cmp(GET('/fresh/loc/nolm/a.txt')->header('Expires'), undef,
         'CondCacheExpires Off inherited from <Location>');

# --- a 304 carries its 200's policy, for the 200's type -------------------
{
    my $full = GET '/fresh/b.css';
    my $nm = GET '/fresh/b.css', 'If-None-Match' => $full->header('ETag');
    ok t_cmp($nm->code, 304, '304');
    ok t_cmp(cc($nm), cc($full), '304: the 200\'s Cache-Control');
    ok t_cmp(expires_in($nm), expires_in($full),
             '304: Expires from the type of the 200, not a default');
    $nm = GET '/fresh/a.txt', 'If-Modified-Since' => LM_DATE;
    ok t_cmp($nm->code, 304, '304 by date');
    ok t_cmp(cc($nm), 'max-age=3600, public', '304 by date: policy');
}

# --- statuses --------------------------------------------------------------
$r = GET '/fresh/missing.txt';
ok t_cmp($r->code, 404, '404');
ok t_cmp($r->header('Cache-Control'), undef, '404: none by default');
ok t_cmp($r->header('Expires'), undef, '404: no Expires');
$r = GET '/fresh/statuses/missing.txt';
ok t_cmp(cc($r), 'max-age=3600, public', 'CondCacheFreshnessStatus 404');
ok t_cmp(cc(GET '/fresh/statuses/a.txt'), 'max-age=3600, public',
         'and 200, listed');
$r = GET '/fresh/statuses/fail.sh';
ok t_cmp($r->code, 503, '5xx');
ok t_cmp($r->header('Cache-Control'), undef, '5xx: never');
$r = GET '/fresh/fail.sh';
ok t_cmp($r->code, 500, '500');
ok t_cmp($r->header('Cache-Control'), undef, '500: never');
{
    my $ua = LWP::UserAgent->new(max_redirect => 0);
    $r = $ua->get('http://' . Apache::TestRequest::hostport() . '/fresh-moved');
    ok t_cmp($r->code, 301, 'a redirect');
    ok t_cmp(cc($r), 'max-age=600', '3xx get freshness by default');
}

# By default 200, 203, 204, 206 and 3xx, and no other status (5.5): a
# script's own status, and the 206 of a file's range
my @statuses = ([200, 1], [201, 0], [202, 0], [203, 1], [204, 1], [205, 0],
                [206, 1], [300, 1], [301, 1], [302, 1], [303, 1], [307, 1],
                [308, 1], [400, 0], [410, 0], [502, 0]);
for my $s (@statuses) {
    my ($status, $fresh) = @$s;
    $r = GET "/fresh/status.sh?$status", redirect_ok => 0;
    ok t_cmp($r->code . ' ' . ($r->header('Cache-Control') // 'none'),
             $status . ' ' . ($fresh ? 'max-age=3600, public' : 'none'),
             "$status: " . ($fresh ? 'the policy' : 'no Cache-Control'));
    ok t_cmp(expires_in($r), $fresh ? $HOUR : undef,
             "$status: " . ($fresh ? 'Expires = Date + max-age'
                                   : 'no Expires'));
}
$r = GET '/fresh/a.txt', Range => 'bytes=0-3';
ok t_cmp($r->code . ' ' . cc($r), '206 max-age=3600, public',
         'a file\'s 206: the policy');
ok t_cmp(expires_in($r), $HOUR, 'a file\'s 206: Expires = Date + max-age');

# --- each directive the policy sends, through the server (5.3) -------------
# one scope each; without a lifetime there, no max-age and no Expires
my @words = (
    [ 's-maxage',  'max-age=600, s-maxage=60', 600 ],
    [ 'private',   'max-age=600, private', 600 ],
    [ 'no-cache',  'no-cache', undef ],
    [ 'no-store',  'no-store', undef ],
    [ 'proxy-revalidate', 'max-age=600, proxy-revalidate', 600 ],
    [ 'stale-while-revalidate', 'max-age=600, stale-while-revalidate=30',
      600 ],
    [ 'stale-if-error', 'max-age=600, stale-if-error=86400', 600 ],
    # in the order configured, lowercase, delta-seconds clamped
    [ 'all', 'max-age=600, public, s-maxage=2147483647, proxy-revalidate, '
             . 'stale-while-revalidate=30, stale-if-error=86400', 600 ],
);
for my $w (@words) {
    my ($scope, $want, $expires) = @$w;
    $r = GET "/words/$scope/a.txt";
    ok t_cmp(cc($r), $want, "CondCacheControl $scope: $want");
    ok t_cmp(expires_in($r), $expires,
             "CondCacheControl $scope: Expires "
             . (defined $expires ? "= Date + $expires" : 'none'));
}

# --- handler output: a CGI -------------------------------------------------
$r = GET '/fresh/plain.sh';
ok t_cmp($r->content, "dynamic\n", 'CGI ran');
ok t_cmp(cc($r), 'max-age=3600, public', 'CGI without Cache-Control');
ok t_cmp(expires_in($r), $HOUR, 'and its Expires');

# the application's "private, max-age=0" in each merge mode (6)
$r = GET '/fresh/app.sh';
ok t_cmp(cc($r), 'private, max-age=0',
         'Merge: the application\'s directives stand, one max-age');
ok t_cmp($r->header('Expires'), undef,
         'Merge: no Expires added to a private response (5.6)');
$r = GET '/fresh/keep/app.sh';
ok t_cmp(cc($r), 'private, max-age=0', 'Keep: untouched');
ok t_cmp($r->header('Expires'), undef, 'Keep: no Expires added');
$r = GET '/fresh/replace/app.sh';
ok t_cmp(cc($r), 'max-age=3600, public', 'Replace: the policy\'s');
ok t_cmp(expires_in($r), $HOUR, 'Replace: Expires agrees');
for my $url (qw(/fresh/app.sh /fresh/keep/app.sh /fresh/replace/app.sh)) {
    my $v = cc(GET $url);
    my $n = () = $v =~ /max-age/g;
    ok t_cmp($n, 1, "$url: exactly one max-age");
}

# an application's Expires is its lifetime: a merge adds no max-age beside
# it (mod_expires leaves such a response alone); Replace puts the policy's
my $E2037 = 'Thu, 01 Jan 2037 00:00:00 GMT';
$r = GET '/fresh/expires.sh';
ok t_cmp(cc($r), 'public', 'Merge, the application\'s Expires: no max-age');
ok t_cmp($r->header('Expires'), $E2037, 'and its Expires kept');
$r = GET '/fresh/expires-cc.sh';
ok t_cmp(cc($r), 'no-transform, public',
         'Merge, Expires beside Cache-Control: no max-age');
ok t_cmp($r->header('Expires'), $E2037, 'and its Expires kept');
# nor an s-maxage: a lifetime for shared caches, in place of the
# application's for them (RFC 9111 5.2.2.10)
$r = GET '/fresh/smax/expires.sh';
ok t_cmp(cc($r), 'public', 'Merge, the application\'s Expires: no s-maxage');
ok t_cmp($r->header('Expires'), $E2037, 'and its Expires kept');
$r = GET '/fresh/smax/expires-cc.sh';
ok t_cmp(cc($r), 'no-transform, public',
         'Merge, Expires beside Cache-Control: no s-maxage');
ok t_cmp(cc(GET '/fresh/smax/plain.sh'), 'max-age=3600, public, s-maxage=300',
         'without an Expires of its own: the policy\'s s-maxage');
$r = GET '/fresh/replace/expires.sh';
ok t_cmp(cc($r), 'max-age=3600, public', 'Replace: the policy\'s lifetime');
ok t_cmp(expires_in($r), $HOUR, 'Replace: Expires agrees with it');

# --- fingerprinted URLs ----------------------------------------------------
$r = GET '/fresh/fp/app.3f9a1c2e.js';
ok t_cmp(cc($r), 'max-age=31536000, public, immutable',
         'fingerprint: a year (365 days) and immutable');
ok t_cmp(expires_in($r), 365 * $DAY, 'fingerprint: Expires');
ok t_cmp(cc(GET '/fresh/fp/app.js'), 'max-age=3600, public',
         'no fingerprint: the type rules');
ok t_cmp(cc(GET '/fresh/fp/b.css'), 'max-age=2592000, immutable',
         'no fingerprint: text/css');

# --- scopes without the module ---------------------------------------------
ok t_cmp(GET('/static/a.txt')->header('Cache-Control'), undef,
         'no policy: no Cache-Control');
ok t_cmp(GET('/static/a.txt')->header('Expires'), undef,
         'no policy: no Expires');

# the trace says why a modification lifetime counted from the request
{
    my $log = Apache::Test::vars('t_logs') . '/error_log';
    my $found = 0;
    for (1 .. 20) {
        open my $fh, '<', $log or die "$log: $!";
        while (<$fh>) {
            $found = 1 if m{/fresh/loc/nolm/a.txt has no Last-Modified};
        }
        last if $found;
        select undef, undef, undef, 0.1;
    }
    ok t_cmp($found, 1, 'trace: no Last-Modified, counted from the request');
}
