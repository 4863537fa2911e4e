# The suite's key cases over HTTP/1.1 with TLS (mod_ssl; <VirtualHost
# mod_ssl> of t/conf/ssl/ssl.conf.in, the same document root and scopes as
# the clear-text server), through LWP, which checks the server's
# certificate against Apache::Test's CA: a static file's 304 decided
# before the handler, the digest of handler output and the 304 of the last
# filter, the validator store's 304 without the handler, HEAD, and what a
# 304 repeats of its 200 (CONFORMANCE.md 4 and 7.6).  Tags are those of
# clear text: TLS is no part of a representation.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestRequest;
use Apache::TestUtil;
use HTTP::Date ();
use lib 't/lib';
use CondCacheTest;

plan tests => 60;

my $tls   = base_url('mod_ssl');
my $clear = base_url();
my $name  = Apache::Test::vars('servername');

set_mtime('static/a.txt');
set_mtime('proto/page.html.en');

# --- the connection ----------------------------------------------------------
my $r = GET "$tls/static/a.txt";
ok t_cmp($r->code, 200, 'https: 200');
ok t_cmp($r->header('Client-SSL-Cipher') ? 1 : 0, 1,
         'over TLS (' . ($r->header('Client-SSL-Cipher') // 'no cipher') . ')');
ok t_cmp($r->header('Client-SSL-Cert-Subject') // '',
         qr/CN=\Q$name\E\b/,
         'the test CA\'s certificate for the server name');
ok t_cmp($r->protocol, 'HTTP/1.1', 'HTTP/1.1');

# --- a static file: decided before the handler -------------------------------
my $T = tag_of('static/a.txt');
ok t_cmp($r->header('ETag'), $T, 'the file\'s tag, as over clear text');
ok t_cmp(GET("$clear/static/a.txt")->header('ETag'), $T,
         'clear text: the same');
ok t_cmp($r->header('Last-Modified'), LM_DATE, 'Last-Modified');
ok t_cmp($r->content, "hello, condcache\n", 'the body');
my $nm;
ok t_cmp(note_for(GET => '/static/a.txt', sub {
             $nm = GET "$tls/static/a.txt", 'If-None-Match' => $T }),
         '304 inm-weak-match', 'INM: decided before the handler');
ok t_cmp($nm->code, 304, 'INM: 304');
ok t_cmp($nm->header('ETag'), $T, 'the 304: the tag');
ok t_cmp($nm->content, '', 'the 304: no body');
ok t_cmp(GET_RC("$tls/static/a.txt", 'If-None-Match' => "W/$T"), 304,
         'weak INM: 304');
ok t_cmp(GET_RC("$tls/static/a.txt", 'If-Modified-Since' => LM_DATE), 304,
         'IMS = Last-Modified: 304');
ok t_cmp(GET_RC("$tls/static/a.txt", 'If-None-Match' => '"x"',
                'If-Modified-Since' => LM_DATE), 200,
         'INM differs, IMS = Last-Modified: 200 (13.2.2)');
ok t_cmp(GET_RC("$tls/static/a.txt", 'If-Match' => '"x"'), 412,
         'If-Match differs: 412');
$r = GET "$tls/static/a.txt", Range => 'bytes=0-4', 'If-Range' => $T;
ok t_cmp($r->code, 206, 'If-Range with the tag: 206');
ok t_cmp($r->content, 'hello', 'the range');
$r = HEAD "$tls/static/a.txt";
ok t_cmp($r->code, 200, 'HEAD: 200');
ok t_cmp($r->header('ETag'), $T, 'HEAD: the GET\'s tag');
ok t_cmp($r->header('Content-Length'), 17, 'HEAD: the GET\'s length');
ok t_cmp($r->content, '', 'HEAD: no body');
ok t_cmp(HEAD_RC("$tls/static/a.txt", 'If-None-Match' => $T), 304,
         'HEAD, INM: 304');

# --- handler output: the digest, and the last filter's 304 -------------------
$r = GET "$tls/dyn/hello.sh";
my $D = $r->header('ETag');
ok t_cmp($D, digest_tag('text/plain', '', $r->content),
         'CGI: the digest of its bytes');
ok t_cmp(GET("$clear/dyn/hello.sh")->header('ETag'), $D,
         'clear text: the same digest');
ok t_cmp(note_for(GET => '/dyn/hello.sh', sub {
             $nm = GET "$tls/dyn/hello.sh", 'If-None-Match' => $D }),
         '304 digest-match', 'INM: the last filter\'s 304');
ok t_cmp($nm->code, 304, 'CGI, INM: 304');
ok t_cmp($nm->content, '', 'no body');
ok t_cmp(HEAD("$tls/dyn/hello.sh")->header('ETag'), $D,
         'HEAD of the CGI: the GET\'s tag');
ok t_cmp(HEAD_RC("$tls/dyn/hello.sh", 'If-None-Match' => $D), 304,
         'HEAD, INM: 304');
$r = GET "$tls/dyn/parts.lua";
ok t_cmp($r->header('ETag'), digest_tag('text/plain', '', $r->content),
         'mod_lua, in several brigades: the digest of the whole output');
ok t_cmp(GET_RC("$tls/dyn/parts.lua", 'If-None-Match' => $r->header('ETag')),
         304, 'mod_lua: 304');

# mod_deflate: another coding, another tag, the same on either transport
my $z = GET "$tls/dyn/gz/hello.sh", 'Accept-Encoding' => 'gzip';
my $Z = $z->header('ETag');
ok t_cmp($z->header('Content-Encoding'), 'gzip', 'gzip: compressed');
ok t_cmp($Z, digest_tag('text/plain', 'gzip', $z->content),
         'gzip: the digest of the compressed bytes and the coding');
ok t_cmp($Z ne GET("$tls/dyn/gz/hello.sh")->header('ETag') ? 1 : 0, 1,
         'gzip and identity: two tags');
ok t_cmp(GET("$clear/dyn/gz/hello.sh", 'Accept-Encoding' => 'gzip')
             ->header('ETag'), $Z, 'clear text: the same gzip tag');
$nm = GET "$tls/dyn/gz/hello.sh", 'Accept-Encoding' => 'gzip',
          'If-None-Match' => $Z;
ok t_cmp($nm->code, 304, 'gzip: 304 for its tag');
ok t_cmp($nm->header('Vary'), $z->header('Vary'), 'gzip: the 200\'s Vary');

# --- the validator store: the handler does not run ---------------------------
my $s = '/store/page.lua?case=tls';
my $before = store_runs($s);
$r = GET "$tls$s";
my $S = $r->header('ETag');
ok t_cmp(store_runs($s), $before + 1, 'store: the page ran for its 200');
ok t_cmp(note_for(GET => '/store/page.lua', sub {
             $nm = GET "$tls$s", 'If-None-Match' => $S }),
         '304 store-match', 'INM: 304 from the store');
ok t_cmp($nm->code, 304, 'store: 304');
ok t_cmp($nm->header('ETag'), $S, 'store: the tag');
ok t_cmp($nm->header('Last-Modified'), $r->header('Last-Modified'),
         'store: the Last-Modified');
ok t_cmp(HEAD_RC("$tls$s", 'If-None-Match' => $S), 304, 'store: HEAD, 304');
ok t_cmp(GET_RC("$tls$s", 'If-Modified-Since' => $r->header('Last-Modified')),
         304, 'store: IMS, 304');
ok t_cmp(store_runs($s), $before + 1, 'store: the page did not run again');
# entries are the virtual host's (README): the clear-text server has none
ok t_cmp(GET_RC("$clear$s", 'If-None-Match' => $S), 304,
         'clear text: 304 too');
ok t_cmp(store_runs($s), $before + 2, 'from the page: another host\'s entry');

# --- a 304 repeats the fields of its 200 (RFC 9110 15.4.5) -------------------
# a static file under a policy, negotiated (Content-Location) and
# compressed (Vary); handler output under the same policy, with its own
# Vary and Content-Location, from the last filter and from the store
my @pages = (
    [ 'static', '/proto/page.html', 'Accept-Encoding' => 'gzip' ],
    [ 'last filter',
      '/proto-dyn/page.lua?vary=Accept-Language&cl=/proto-dyn/page.lua' ],
    [ 'store', '/store-policy/page.lua?case=tls&vary=Accept-Language'
               . '&cl=/store-policy/page.lua' ],
);
for my $p (@pages) {
    my ($what, $u, @h) = @$p;
    my $ok = GET "$tls$u", @h;
    my $tag = $ok->header('ETag') // 'none';
    $nm = GET "$tls$u", @h, 'If-None-Match' => $tag;
    ok t_cmp($nm->code, 304, "$what: 304");
    my @same = grep {
        ($nm->header($_) // 'none') ne ($ok->header($_) // 'none')
    } qw(ETag Cache-Control Vary Content-Location);
    ok t_cmp("@same", '', "$what: the 200's ETag, Cache-Control, Vary and "
             . 'Content-Location (' . join(' | ', map { $nm->header($_) // '' }
                 qw(ETag Cache-Control Vary Content-Location)) . ')');
    ok t_cmp(HTTP::Date::str2time($nm->header('Expires') // '') -
             HTTP::Date::str2time($nm->header('Date') // ''), 3600,
             "$what: Expires = Date + max-age");
    ok t_cmp(join(' ', grep { defined $nm->header($_) }
                  qw(Content-Type Content-Length Content-Encoding)), '',
             "$what: no Content-Type, Content-Length or Content-Encoding");
}
