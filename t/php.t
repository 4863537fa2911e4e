# PHP through php-fpm: Debian's php8.2-fpm, a pool of the test's own
# (t/conf/php-fpm.conf, started by this test with its socket under
# t/logs/php-fpm and stopped by its pid, also when the test dies), behind
# mod_proxy_fcgi as Debian's conf-available/php8.2-fpm.conf puts it
# (SetHandler "proxy:unix:...|fcgi://..."; the scopes are in
# t/conf/extra.conf.in).  Each case as RFC 9110 and 9111 answer it:
#   - a page without validators: a digest ETag (the XXH3-128 of its type
#     and bytes, by xxhsum) and a bodiless 304 from the last filter, and a
#     304 from the validator store without running the page;
#   - a page with its own ETag and Last-Modified that answers its own 304:
#     one status line, its validators, no digest, no body;
#   - a page with a session (PHP's no-store, no-cache, must-revalidate and
#     its Expires in 1981) stays uncacheable under Merge, with a default
#     lifetime and under a by-type rule with public, s-maxage and
#     stale-while-revalidate (docs/conformance.md 5.6); Keep and Replace as
#     the README says; mod_expires leaves it alone too;
#   - a page that streams with flush(): as it is produced where the README
#     says it is (a streaming type, CondCacheDigest Off), held no less
#     than CondCacheDigestMaxWait where it is held for a digest;
#   - a fatal error (500) and a redirect: no digest, no 304, whatever
#     If-None-Match says, and never from the store;
#   - the module's notes, and no warning or error of mod_proxy_fcgi or
#     php-fpm.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestRequest;
use Apache::TestUtil;
use IO::Select ();
use IO::Socket::INET ();
use Time::HiRes qw(time);
use lib 't/lib';
use CondCacheTest;

my $t_logs  = Apache::Test::vars('t_logs');
my $modules = Apache::Test::vars('serverroot') . '/modules';
my $fpm_dir = "$t_logs/php-fpm";

plan tests => 120, need {
    'php-fpm8.2 is not installed (apt-get install php8.2-fpm)'
        => defined php_fpm_bin(),
    "no mod_proxy_fcgi in $modules" => -e "$modules/mod_proxy_fcgi.so",
    'xxhsum is not installed (apt-get install xxhash)'
        => scalar(grep { -x "$_/xxhsum" } split(/:/, $ENV{PATH})),
    # a unix socket's path has room for 107 bytes
    "$fpm_dir is too long a path for php-fpm's socket"
        => length("$fpm_dir/php-fpm.sock") < 100,
};

# CondCacheTest's END block stops the pool whatever happens; a signal
# goes through it too
$SIG{$_} = sub { exit 1 } for qw(INT TERM HUP);
php_fpm_start();

my $hostport = Apache::TestRequest::hostport();

# What a page counted (t/htdocs/php/count.inc.php): a line a run, "200"
# or "304" when it answered its own
sub runs {
    my ($page, $case) = @_;
    open my $fh, '<', "$fpm_dir/runs/${page}_$case" or return ();
    chomp(my @lines = <$fh>);
    return @lines;
}

# A GET on a connection of its own, read to its end: the bytes, and each
# piece as it came with the seconds since the request was sent
sub raw {
    my ($path, @fields) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => $hostport, Timeout => 10)
        or die "connect $hostport: $!";
    binmode $s;
    my $t0 = time;
    print $s "GET $path HTTP/1.1\r\nHost: $hostport\r\n",
        "Connection: close\r\n", map({ "$_\r\n" } @fields), "\r\n";
    my $sel = IO::Select->new($s);
    my ($bytes, @pieces) = ('');
    while ($sel->can_read(30)) {
        my $n = sysread $s, my $buf, 65536;
        last unless $n;
        push @pieces, [time - $t0, $buf];
        $bytes .= $buf;
    }
    my ($head, $body) = split /\r\n\r\n/, $bytes, 2;
    return { bytes => $bytes, head => $head // '', body => $body // '',
             pieces => \@pieces,
             status_lines => scalar(() = $bytes =~ m{^HTTP/\d\.\d \d{3}}mg) };
}

# the value of a field in a raw response's header, or undef
sub field {
    my ($raw, $name) = @_;
    my @v = $raw->{head} =~ /^\Q$name\E:[ \t]*(.*?)\r?$/mgi;
    return @v == 1 ? $v[0] : @v ? scalar(@v) . ' fields' : undef;
}

# when $text had come, in seconds after the request, or undef
sub arrived {
    my ($raw, $text) = @_;
    my $all = '';
    for my $p (@{ $raw->{pieces} }) {
        $all .= $p->[1];
        return $p->[0] if index($all, $text) >= 0;
    }
    return undef;
}

my $PLAIN = "a php page without validators\n";
my $TYPE  = 'text/plain;charset=UTF-8';      # as PHP sends it

# --- a page without validators: a digest, a 304 from the last filter -----
my $u = '/php/plain.php?case=digest';
my $r;
ok t_cmp(note_for(GET => '/php/plain.php', sub { $r = GET $u }),
         '200 digest', 'no validators: note 200 digest');
ok t_cmp($r->code, 200, 'no validators: 200');
ok t_cmp($r->content, $PLAIN, 'the page');
my $T = $r->header('ETag');
ok t_cmp($T, digest_tag($TYPE, '', $PLAIN),
         'its ETag: the digest of its type and bytes');
ok t_cmp($r->header('Last-Modified'), undef, 'no Last-Modified');
ok t_cmp(scalar(runs('plain', 'digest')), 1, 'the page ran once');

my $raw = raw($u, "If-None-Match: $T");
ok t_cmp($raw->{head}, qr{^HTTP/1\.1 304 }, 'INM with its tag: 304');
ok t_cmp($raw->{status_lines}, 1, 'one status line');
ok t_cmp(length $raw->{body}, 0, 'no body: the 304 is bodiless');
ok t_cmp(field($raw, 'ETag'), $T, 'the 304 carries the tag');
ok t_cmp(field($raw, 'Content-Length'), undef,
         'no Content-Length (RFC 9110 8.6)');
ok t_cmp(scalar(runs('plain', 'digest')), 2,
         'the page ran: the last filter made the 304');
ok t_cmp(note_for(GET => '/php/plain.php',
                  sub { $r = GET $u, 'If-None-Match' => qq{"x", W/$T} }),
         '304 digest-match', 'note: 304 digest-match');

ok t_cmp($r->code, 304, 'weak comparison, in a list: 304');
ok t_cmp(GET_RC($u, 'If-None-Match' => '*'), 304,
         'If-None-Match: * (the page has a representation): 304');
$r = GET $u, 'If-None-Match' => '"other"';
ok t_cmp($r->code, 200, 'another tag: 200');
ok t_cmp($r->content, $PLAIN, 'with the page');

# a Range goes to php-fpm as it came, as for every proxied request (README,
# CondCacheDigest): the page answers it (PHP ignores it: its whole 200),
# and no digest is made of it (3)
ok t_cmp(note_for(GET => '/php/plain.php',
                  sub { $r = GET "$u&range=1", Range => 'bytes=0-3' }),
         'pass range', 'Range: note pass range');
ok t_cmp($r->code . ' ' . $r->content, "200 $PLAIN",
         "Range: the page's own answer, whole");
ok t_cmp($r->header('ETag'), undef, 'Range: no digest');

# --- the validator store: a 304 without running the page ------------------
$u = '/php-store/plain.php?case=store';
$r = GET $u;
my $S = $r->header('ETag');
my $SLM = $r->header('Last-Modified');
ok t_cmp($S, digest_tag($TYPE, '', $PLAIN), 'store: the digest tag');
ok t_cmp(defined $SLM ? 1 : 0, 1,
         'store: a Last-Modified (when the store first saw the tag)');
ok t_cmp(scalar(runs('plain', 'store')), 1, 'store: the page ran once');
ok t_cmp(note_for(GET => '/php-store/plain.php',
                  sub { $r = GET $u, 'If-None-Match' => $S }),
         '304 store-match', 'store: note 304 store-match');
ok t_cmp($r->code, 304, 'store, INM: 304');
ok t_cmp($r->header('ETag'), $S, 'store: the 304 carries the tag');
ok t_cmp($r->content, '', 'store: no body');
ok t_cmp(GET_RC($u, 'If-Modified-Since' => $SLM), 304, 'store, IMS: 304');
ok t_cmp(scalar(runs('plain', 'store')), 1,
         'the page did not run for either');
ok t_cmp(GET_RC($u, 'If-None-Match' => '"other"'), 200,
         'store, another tag: 200');
ok t_cmp(scalar(runs('plain', 'store')), 2, 'from the page');

# --- a page with its own validators, which answers its own 304 ----------
my $OWN = '"php-own-1"';
my $OWNLM = 'Sun, 06 Nov 1994 08:49:37 GMT';

# where the module digests (CondCacheDigest On), the page sees no
# precondition (README: the handler gets none) and sends its 200; the
# module answers on the page's own validators, once
$u = '/php/own.php?case=digest';
ok t_cmp(note_for(GET => '/php/own.php', sub { $r = GET $u }),
         '200 unconditional', 'own validators: note');
ok t_cmp($r->header('ETag'), $OWN, 'its own ETag kept: no digest');
ok t_cmp($r->header('Last-Modified'), $OWNLM, 'its own Last-Modified');
$raw = raw($u, "If-None-Match: $OWN");
ok t_cmp($raw->{head}, qr{^HTTP/1\.1 304 }, 'INM with its tag: 304');
ok t_cmp($raw->{status_lines}, 1, 'one status line');
ok t_cmp(length $raw->{body}, 0, 'no body');
ok t_cmp(field($raw, 'ETag'), $OWN, 'its ETag, not a digest');
ok t_cmp(field($raw, 'Last-Modified'), $OWNLM, 'its Last-Modified');
ok t_cmp([runs('own', 'digest')], [qw(200 200)],
         'the page answered 200 both times (it saw no precondition)');
ok t_cmp(note_for(GET => '/php/own.php',
                  sub { $r = GET $u, 'If-Modified-Since' => $OWNLM }),
         '304 ims-not-modified', 'IMS = its Last-Modified: note');
ok t_cmp($r->code, 304, 'IMS = its Last-Modified: 304');
ok t_cmp(GET_RC($u, 'If-None-Match' => '"other"',
                'If-Modified-Since' => $OWNLM), 200,
         'another tag: 200, If-Modified-Since ignored (13.2.2)');

# where the module does not digest, the page sees If-None-Match and
# answers its own 304: the module neither contradicts it nor answers
# again
$u = '/php-nodigest/own.php?case=nodigest';
$raw = raw($u, "If-None-Match: $OWN");
ok t_cmp($raw->{head}, qr{^HTTP/1\.1 304 }, 'its own 304');
ok t_cmp([runs('own', 'nodigest')], ['304'], 'made by the page');
ok t_cmp($raw->{status_lines}, 1, 'one status line');
ok t_cmp(length $raw->{body}, 0, 'no body');
ok t_cmp(field($raw, 'ETag'), $OWN, 'its ETag, not a digest');
ok t_cmp(field($raw, 'Last-Modified'), $OWNLM, 'its Last-Modified');
$raw = raw($u, "If-Modified-Since: $OWNLM");
ok t_cmp($raw->{head}, qr{^HTTP/1\.1 304 }, 'IMS: its own 304');
ok t_cmp($raw->{status_lines} . ' ' . length($raw->{body}), '1 0',
         'one status line, no body');
ok t_cmp((runs('own', 'nodigest'))[-1], '304', 'made by the page');
$r = GET $u, 'If-None-Match' => '"other"';
ok t_cmp($r->code, 200, 'another tag: its 200');
ok t_cmp($r->header('ETag'), $OWN, 'with its ETag');
ok t_cmp($r->content, "a php page with its own validators\n", 'and body');

# the store keeps the page's own validators, and answers for it
$u = '/php-store/own.php?case=store';
GET_RC $u;
ok t_cmp(note_for(GET => '/php-store/own.php',
                  sub { $r = GET $u, 'If-None-Match' => $OWN }),
         '304 store-match', 'own validators, store: note');
ok t_cmp($r->header('ETag') . ' ' . $r->header('Last-Modified'),
         "$OWN $OWNLM", 'store: its own validators');
ok t_cmp([runs('own', 'store')], ['200'], 'store: the page ran once');

# --- a page with a session stays uncacheable (docs/conformance.md 5.6) ---------
my $SESSION_CC = 'no-store, no-cache, must-revalidate';
my $Y1981 = 'Thu, 19 Nov 1981 08:52:00 GMT';
$r = GET '/php/session.php';
ok t_cmp(cc($r), $SESSION_CC, 'no policy: what PHP sent');
ok t_cmp($r->header('Expires'), $Y1981, 'no policy: its Expires');
ok t_cmp($r->header('Set-Cookie'), qr/^PHPSESSID=/, 'a session cookie');

# Merge (the default) with a default lifetime: a page without validators
# gets it; the session page gets no lifetime, no Expires of the policy's
$r = GET '/php-fresh/plain.php?case=fresh';
ok t_cmp(cc($r), 'max-age=3600', 'Merge: a page gets the lifetime');
ok t_cmp(expires_in($r), 3600, 'and Expires = Date + max-age');
$r = GET '/php-fresh/session.php';
ok t_cmp(cc($r), $SESSION_CC, 'Merge: the session page keeps its field');
ok t_cmp($r->header('Expires'), $Y1981, 'and its Expires in 1981');
ok t_cmp(scalar(() = $r->headers->header('Expires')), 1, 'one Expires');
ok t_cmp($r->header('Pragma'), 'no-cache', 'and its Pragma');

# Merge under a by-type rule with public, s-maxage and
# stale-while-revalidate: the same
$r = GET '/php-fresh-type/plain.php?case=ftype&type=html';
ok t_cmp(cc($r), 'max-age=3600, public, s-maxage=300, '
                 . 'stale-while-revalidate=30', 'by type: a page gets all');
ok t_cmp(expires_in($r), 3600, 'and Expires = Date + max-age');
$r = GET '/php-fresh-type/session.php';
ok t_cmp($r->header('Content-Type'), qr{^text/html}, 'the session page is '
         . 'text/html');
ok t_cmp(cc($r), $SESSION_CC,
         'by type, Merge: no lifetime, public, s-maxage nor '
         . 'stale-while-revalidate beside no-store');
ok t_cmp($r->header('Expires'), $Y1981, 'by type, Merge: its Expires');

# Keep: as the handler sent them; Replace: the policy's in their place
$r = GET '/php-keep/session.php';
ok t_cmp(cc($r), $SESSION_CC, 'Keep: what PHP sent');
ok t_cmp($r->header('Expires'), $Y1981, 'Keep: its Expires');
$r = GET '/php-replace/session.php';
ok t_cmp(cc($r), 'max-age=3600, public, s-maxage=300, '
                 . 'stale-while-revalidate=30', 'Replace: the policy\'s');
ok t_cmp(expires_in($r), 3600, 'Replace: Expires = Date + max-age');

# mod_expires leaves a response with an Expires as it is, as Merge does
$r = GET '/php-expires/session.php';
ok t_cmp(cc($r), $SESSION_CC, 'mod_expires: what PHP sent');
ok t_cmp($r->header('Expires'), $Y1981, 'mod_expires: its Expires');
$r = GET '/php-expires/plain.php?case=expires';
ok t_cmp(cc($r), 'max-age=3600', 'mod_expires: a page gets the lifetime');
# where the two part (README, moving from mod_expires): a no-store
# without Expires gets mod_expires' lifetime, and none from Merge
ok t_cmp(join(', ', GET('/php-expires/nostore.php')->headers
                  ->header('Cache-Control')), 'no-store, max-age=3600',
         'mod_expires: its max-age beside no-store (in a field of its own)');
$r = GET '/php-fresh/nostore.php';
ok t_cmp(cc($r), 'no-store', 'Merge: no-store alone');
ok t_cmp($r->header('Expires'), undef, 'Merge: and no Expires');

# the session page is never stored: its page runs for every request
$u = '/php-store/session.php';
$r = GET $u;
my $before = scalar runs('session', '');
ok t_cmp($r->header('ETag'), qr/^"[0-9a-f]{32}"$/, 'session: a digest tag');
ok t_cmp(GET_RC($u, 'If-None-Match' => $r->header('ETag')), 304,
         'session, INM: 304');
ok t_cmp(scalar(runs('session', '')), $before + 1,
         'from its page, not from the store');

# --- a page that streams with flush() -------------------------------------
# (the pool's worker has flushpackets=on: without it, mod_proxy_fcgi
# passes no FLUSH and httpd holds a small piece, module or not)
my $FIRST = "data: the first part\n\n";
my $REST  = "data: the rest\n\n";

# server-sent events: never held (README: a streaming media type)
$raw = raw('/php/stream.php?type=sse');
my ($t1, $t2) = (arrived($raw, $FIRST), arrived($raw, $REST));
ok t_cmp($raw->{head}, qr{^HTTP/1\.1 200 }, 'event stream: 200');
ok t_cmp(defined $t1 && defined $t2 && $t2 - $t1 > 1.5 ? 1 : 0, 1,
         sprintf('event stream: the first part %.1f s before the rest',
                 ($t2 // 0) - ($t1 // 0)));
ok t_cmp(field($raw, 'ETag'), undef, 'event stream: no digest');
ok t_cmp(note_for(GET => '/php/stream.php',
                  sub { GET_RC '/php/stream.php?type=sse&ms=10' }),
         'pass stream', 'event stream: note pass stream');

# where the administrator turns the digest off (README: for a backend
# that streams), a text/plain page streams too
$raw = raw('/php-nodigest/stream.php');
($t1, $t2) = (arrived($raw, $FIRST), arrived($raw, $REST));
ok t_cmp(defined $t1 && defined $t2 && $t2 - $t1 > 1.5 ? 1 : 0, 1,
         sprintf('CondCacheDigest Off: the first part %.1f s before '
                 . 'the rest', ($t2 // 0) - ($t1 // 0)));
ok t_cmp(field($raw, 'ETag'), undef, 'CondCacheDigest Off: no digest');

# held for a digest: a pause within CondCacheDigestMaxWait (1 s) is held
# whole, with its digest; a longer one is held no less than the wait,
# then let go without a tag (README: CondCacheDigest, a proxied response)
$r = GET '/php/stream.php?ms=200';
ok t_cmp($r->content, $FIRST . $REST, 'a short pause: the page');
ok t_cmp($r->header('ETag'), digest_tag($TYPE, '', $FIRST . $REST),
         'a short pause: held whole, with its digest');
ok t_cmp(GET_RC('/php/stream.php?ms=200',
                'If-None-Match' => $r->header('ETag')), 304,
         'and its 304');
$raw = raw('/php/stream.php');
($t1, $t2) = (arrived($raw, $FIRST), arrived($raw, $REST));
ok t_cmp($raw->{body}, qr/\Q$FIRST\E.*\Q$REST\E/s, 'a long pause: all of it');
ok t_cmp(defined $t1 && $t1 >= 0.9 ? 1 : 0, 1,
         sprintf('a long pause: the first part held %.1f s (no less than '
                 . 'CondCacheDigestMaxWait)', $t1 // -1));
ok t_cmp(field($raw, 'ETag'), undef, 'a long pause: no digest');
ok t_cmp(note_for(GET => '/php/stream.php',
                  sub { GET_RC '/php/stream.php?ms=1500' }),
         'pass slow', 'a long pause: note pass slow');

# --- a fatal error and a redirect: no digest, no 304 ----------------------
for my $case (['/php/fatal.php?case=f', 500, 'fatal'],
              ['/php/redirect.php?case=f', 302, 'redirect']) {
    my ($url, $code, $what) = @$case;
    $r = GET $url, redirect_ok => 0;
    ok t_cmp($r->code, $code, "$what: $code");
    ok t_cmp($r->header('ETag'), undef, "$what: no digest");
    my $would = digest_tag($r->header('Content-Type'), '', $r->content);
    for my $inm ('*', $would, $T) {
        $raw = raw($url, "If-None-Match: $inm");
        ok t_cmp($raw->{head}, qr{^HTTP/1\.1 $code }, "$what, INM $inm: $code");
        ok t_cmp(field($raw, 'ETag'), undef, "$what, INM $inm: no ETag");
    }
}
ok t_cmp(scalar(() = slurp("$fpm_dir/php-error.log")
                      =~ /PHP Fatal error: .*condcache_no_such_function/g),
         4, 'the 500s were PHP\'s fatal errors');
ok t_cmp(GET('/php/redirect.php?case=f', redirect_ok => 0)->header('Location'),
         '/php/plain.php?case=redirected', 'the redirect\'s Location');

# never from the store, whatever If-None-Match says
for my $page (qw(fatal redirect)) {
    my $url = "/php-store/$page.php?case=store";
    GET_RC $url, redirect_ok => 0;
    GET_RC $url, redirect_ok => 0, 'If-None-Match' => '*';
    ok t_cmp(scalar(runs($page, 'store')), 2,
             "$page, store: the page ran both times");
}

# --- logs -------------------------------------------------------------------
my @proxy_lines = grep { /\[(?:proxy|proxy_fcgi):(?:warn|error)\]/ }
                  split /\n/, slurp("$t_logs/error_log");
ok t_cmp(scalar(@proxy_lines), 0,
         "no warning or error of mod_proxy_fcgi:\n" . join "\n", @proxy_lines);
my @fpm_lines = grep { /\b(?:WARNING|ERROR|ALERT)\b/ }
                split /\n/, slurp("$fpm_dir/php-fpm.log");
ok t_cmp(scalar(@fpm_lines), 0,
         "no warning or error of php-fpm:\n" . join "\n", @fpm_lines);

php_fpm_stop();
