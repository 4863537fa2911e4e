# The suite's key cases over HTTP/2 (mod_http2): h2 over TLS (ALPN, on
# <VirtualHost mod_ssl>), and h2c in clear text with prior knowledge and
# after "Upgrade: h2c" (<VirtualHost condcache_h2c>), both with the same
# document root and scopes as the HTTP/1.1 server (t/conf/ssl/ssl.conf.in).
# The client is nghttp, whose received bytes are read here frame by frame
# (CondCacheTest::nghttp): a 304 must end its stream with its HEADERS and
# send no DATA, a 200 must send its whole body and end its stream.  Cases:
# a static file's 304 decided before the handler, the digest of handler
# output and the last filter's 304, the store's 304 without the handler,
# HEAD, a digest tag that is the same over every protocol, what a 304
# repeats of its 200 (RFC 9110 15.4.5), and many streams on one
# connection that mix 304s and 200s, each whole, none stalled (every
# client run is bounded, so a stall fails instead of hanging the suite).
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestRequest;
use Apache::TestUtil;
use HTTP::Date ();
use IO::Uncompress::Gunzip ();
use lib 't/lib';
use CondCacheTest;

my @ways = (
    { name => 'h2', base => base_url('mod_ssl'), opt => {},
      protocol => 'h2' },
    { name => 'h2c', base => base_url('condcache_h2c'), opt => {},
      protocol => 'h2c' },
    { name => 'h2c after Upgrade', base => base_url('condcache_h2c'),
      opt => { upgrade => 1 }, protocol => 'h2c-upgrade' },
);

# rows of preconditions.t (RFC 9110 13.2.2 and CONFORMANCE.md 6) for
# /static/a.txt, whose tag is $T: [ what, [ fields ], status ]
set_mtime('static/a.txt');
set_mtime('static/b.css');
set_mtime('gz/big.txt');
set_mtime('proto/page.html.en');
my $T = tag_of('static/a.txt');
my $OLD = 'Sat, 01 Jan 1994 00:00:00 GMT';
my @rows = (
    [ 'IM weak member, then the tag', [ 'if-match' => "W/$T, $T" ], 200 ],
    [ 'IM differs',                   [ 'if-match' => '"x"' ], 412 ],
    [ 'IUS earlier',                  [ 'if-unmodified-since' => $OLD ], 412 ],
    [ 'IUS garbage ignored',          [ 'if-unmodified-since' => 'garbage' ],
                                      200 ],
    [ 'INM weak',                     [ 'if-none-match' => "W/$T" ], 304 ],
    [ 'INM on two fields',            [ 'if-none-match' => '"x"',
                                        'if-none-match' => $T ], 304 ],
    [ 'INM, old IMS',                 [ 'if-none-match' => $T,
                                        'if-modified-since' => $OLD ], 304 ],
    [ 'INM differs, IMS = LM',        [ 'if-none-match' => '"x"',
                                        'if-modified-since' => LM_DATE ], 200 ],
    [ 'IMS = LM',                     [ 'if-modified-since' => LM_DATE ], 304 ],
    [ 'IMS in the year 9999 ignored',
      [ 'if-modified-since' => 'Fri, 31 Dec 9999 23:59:59 GMT' ], 200 ],
    [ 'INM with Range',               [ 'if-none-match' => $T,
                                        range => 'bytes=0-4' ], 304 ],
    [ 'If-Range holds',               [ 'if-range' => $T,
                                        range => 'bytes=0-4' ], 206 ],
    [ 'If-Range fails',               [ 'if-range' => '"x"',
                                        range => 'bytes=0-4' ], 200 ],
);

# the responses a 304 stands for, each with the fields a 304 repeats: a
# negotiated static file (Content-Location) asked with gzip (Vary), the
# last filter's page and the store's (CONFORMANCE.md 4 and 7.6); the
# store's page has a URI per protocol (%s), its runs counted apart
my @pages = (
    [ 'static', '/proto/page.html', 'accept-encoding' => 'gzip' ],
    [ 'last filter',
      '/proto-dyn/page.lua?vary=Accept-Language&cl=/proto-dyn/page.lua' ],
    [ 'store', '/store-policy/page.lua?case=%s&vary=Accept-Language'
               . '&cl=/store-policy/page.lua' ],
);

# per way: the static file and @rows, the CGI, gzip, the store, @pages,
# many streams (6 and one per path); then HTTP/1.1 and h2 on one store
# entry (3), curl's parallel transfers (2 and one per kind)
plan tests => @ways * (16 + @rows + 10 + 6 + 6 + 5 * @pages + 6 + 9) + 3 + 8;

sub file_bytes {
    open my $fh, '<:raw', file_path(shift) or die $!;
    local $/;
    return scalar <$fh>;
}

# a response on a connection of its own: the stream, with the run's
# facts in {run}; lowercase field names, identity unless asked
sub h2 {
    my ($way, $path, @fields) = @_;
    unshift @fields, 'accept-encoding' => 'identity'
        unless grep { $_ eq 'accept-encoding' } @fields;
    my $run = nghttp([ "$way->{base}$path" ], %{ $way->{opt} },
                     headers => \@fields);
    my $st = $run->{streams}[-1] // { status => 0, fields => {}, body => '',
                                      data_frames => 0, end_stream => 0 };
    $st->{run} = $run;
    return $st;
}

# a response ended as it should: its stream ended by the server, no
# RST_STREAM, no bytes left over, nghttp done before its bound
sub ended {
    my $st = shift;
    my $run = $st->{run};
    return 'nghttp exit ' . $run->{exit}
        . ($run->{exit} == 124 ? ' (bound hit: stalled)' : '')
        . "\n" . substr($run->{output}, -2000) if $run->{exit};
    return 'the stream was not ended' unless $st->{end_stream};
    return "RST_STREAM $st->{rst}" if defined $st->{rst};
    return "$run->{rest} bytes of a frame left" if $run->{rest};
    return 'ended';
}

# a 304 (or a HEAD): its HEADERS end the stream, no DATA follows
sub bodiless {
    my $st = shift;
    return ended($st) . ", $st->{data_frames} DATA frames, "
        . length($st->{body}) . ' bytes';
}

my $seq = 0;
for my $w (@ways) {
    my $n = $w->{name};
    my $id = sub { "h2-$$-" . ++$seq };     # X-Test-Id, for note_by_id
    my $x;

    # --- a static file: decided before the handler ---------------------------
    my $st = h2($w, '/static/a.txt');
    ok t_cmp($st->{run}{protocol}, $w->{protocol}, "$n: the protocol");
    ok t_cmp($st->{run}{connects}, 1, "$n: one connection");
    ok t_cmp($st->{status}, 200, "$n static: 200");
    ok t_cmp(ended($st), 'ended', "$n static: the 200 ended");
    ok t_cmp($st->{fields}{etag}, $T, "$n static: the file's tag");
    ok t_cmp($st->{fields}{'last-modified'}, LM_DATE,
             "$n static: Last-Modified");
    ok t_cmp($st->{body}, file_bytes('static/a.txt'), "$n static: the body");
    $st = h2($w, '/static/a.txt', 'if-none-match' => $T,
             'x-test-id' => ($x = $id->()));
    ok t_cmp($st->{status}, 304, "$n static, INM: 304");
    ok t_cmp(note_by_id(GET => '/static/a.txt', $x), '304 inm-weak-match',
             "$n static, INM: decided before the handler");
    ok t_cmp(bodiless($st), 'ended, 0 DATA frames, 0 bytes',
             "$n static, the 304: no DATA");
    ok t_cmp($st->{fields}{etag}, $T, "$n static, the 304: the tag");
    $st = h2($w, '/static/a.txt', ':method' => 'HEAD');
    ok t_cmp($st->{status}, 200, "$n static, HEAD: 200");
    ok t_cmp(bodiless($st), 'ended, 0 DATA frames, 0 bytes',
             "$n static, HEAD: no DATA");
    ok t_cmp($st->{fields}{etag}, $T, "$n static, HEAD: the GET's tag");
    ok t_cmp($st->{fields}{'content-length'}, 17,
             "$n static, HEAD: the GET's length");
    $st = h2($w, '/static/a.txt', ':method' => 'HEAD', 'if-none-match' => $T);
    ok t_cmp($st->{status}, 304, "$n static, HEAD, INM: 304");
    for my $row (@rows) {
        my ($what, $fields, $status) = @$row;
        $st = h2($w, '/static/a.txt', @$fields);
        ok t_cmp($st->{status}, $status, "$n static: $what");
    }

    # --- handler output: the digest, and the last filter's 304 ---------------
    $st = h2($w, '/dyn/hello.sh');
    my $D = $st->{fields}{etag} // 'none';
    ok t_cmp(ended($st), 'ended', "$n CGI: the 200 ended");
    ok t_cmp($D, digest_tag('text/plain', '', $st->{body}),
             "$n CGI: the digest of the bytes received");
    ok t_cmp($D, GET('/dyn/hello.sh')->header('ETag'),
             "$n CGI: the tag of HTTP/1.1 in clear text");
    $st = h2($w, '/dyn/hello.sh', 'if-none-match' => $D,
             'x-test-id' => ($x = $id->()));
    ok t_cmp($st->{status}, 304, "$n CGI, INM: 304");
    ok t_cmp(note_by_id(GET => '/dyn/hello.sh', $x), '304 digest-match',
             "$n CGI, INM: the last filter's 304");
    ok t_cmp(bodiless($st), 'ended, 0 DATA frames, 0 bytes',
             "$n CGI, the 304: no DATA");
    $st = h2($w, '/dyn/hello.sh', ':method' => 'HEAD');
    ok t_cmp($st->{fields}{etag}, $D, "$n CGI, HEAD: the GET's tag");
    ok t_cmp(bodiless($st), 'ended, 0 DATA frames, 0 bytes',
             "$n CGI, HEAD: no DATA");
    ok t_cmp(h2($w, '/dyn/hello.sh', ':method' => 'HEAD',
                'if-none-match' => $D)->{status}, 304,
             "$n CGI, HEAD, INM: 304");
    ok t_cmp(h2($w, '/dyn/hello.sh', 'if-match' => '"x"')->{status}, 412,
             "$n CGI, If-Match differs: 412");

    # mod_deflate: the gzip bytes have a tag of their own, the same on any
    # protocol
    $st = h2($w, '/dyn/gz/hello.sh', 'accept-encoding' => 'gzip');
    my $Z = $st->{fields}{etag} // 'none';
    ok t_cmp($st->{fields}{'content-encoding'}, 'gzip', "$n gzip: compressed");
    ok t_cmp($Z, digest_tag('text/plain', 'gzip', $st->{body}),
             "$n gzip: the digest of the compressed bytes and the coding");
    ok t_cmp($Z, GET('/dyn/gz/hello.sh', 'Accept-Encoding' => 'gzip')
                     ->header('ETag'),
             "$n gzip: the gzip tag of HTTP/1.1 in clear text");
    ok t_cmp($Z ne h2($w, '/dyn/gz/hello.sh')->{fields}{etag} ? 1 : 0, 1,
             "$n gzip and identity: two tags");
    $st = h2($w, '/dyn/gz/hello.sh', 'accept-encoding' => 'gzip',
             'if-none-match' => $Z);
    ok t_cmp($st->{status}, 304, "$n gzip: 304 for its tag");
    ok t_cmp($st->{fields}{vary}, 'Accept-Encoding', "$n gzip: the 304's Vary");

    # --- the validator store: the handler does not run -----------------------
    my $s = "/store/page.lua?case=h2-$w->{protocol}";
    my $before = store_runs($s);
    $st = h2($w, $s);
    my $S = $st->{fields}{etag} // 'none';
    ok t_cmp(store_runs($s), $before + 1, "$n store: the page ran for its 200");
    $st = h2($w, $s, 'if-none-match' => $S, 'x-test-id' => ($x = $id->()));
    ok t_cmp($st->{status}, 304, "$n store, INM: 304");
    ok t_cmp(note_by_id(GET => '/store/page.lua', $x), '304 store-match',
             "$n store, INM: from the store");
    ok t_cmp(bodiless($st), 'ended, 0 DATA frames, 0 bytes',
             "$n store, the 304: no DATA");
    ok t_cmp(h2($w, $s, ':method' => 'HEAD', 'if-none-match' => $S)->{status},
             304, "$n store, HEAD, INM: 304");
    ok t_cmp(store_runs($s), $before + 1,
             "$n store: the page did not run again");

    # --- a 304 repeats the fields of its 200 ---------------------------------
    for my $p (@pages) {
        my ($what, $u, @f) = @$p;
        $u =~ s/%s/$w->{protocol}/;
        my $ok = h2($w, $u, @f);
        my $tag = $ok->{fields}{etag} // 'none';
        $st = h2($w, $u, @f, 'if-none-match' => $tag);
        ok t_cmp($st->{status}, 304, "$n $what: 304");
        ok t_cmp(bodiless($st), 'ended, 0 DATA frames, 0 bytes',
                 "$n $what: no DATA");
        my @differ = grep {
            ($st->{fields}{$_} // 'none') ne ($ok->{fields}{$_} // 'none')
        } qw(etag cache-control vary content-location);
        ok t_cmp("@differ", '', "$n $what: the 200's ETag, Cache-Control, "
                 . 'Vary and Content-Location (' . join(' | ', map {
                     $st->{fields}{$_} // '' } qw(etag cache-control vary
                                                  content-location)) . ')');
        ok t_cmp(HTTP::Date::str2time($st->{fields}{expires} // '') -
                 HTTP::Date::str2time($st->{fields}{date} // ''), 3600,
                 "$n $what: Expires = Date + max-age");
        ok t_cmp(join(' ', grep { defined $st->{fields}{$_} }
                      qw(content-type content-length content-encoding)), '',
                 "$n $what: no Content-Type, Content-Length or "
                 . 'Content-Encoding');
    }

    # --- many streams on one connection: 304s and 200s, each whole -----------
    my $gz = h2($w, '/gz/big.txt', 'accept-encoding' => 'gzip');
    my $lua = h2($w, '/dyn/parts.lua');
    my $m = "/store/page.lua?case=mux-$w->{protocol}";
    my $M = h2($w, $m)->{fields}{etag} // 'none';
    my $mruns = store_runs($m);
    my $zero = "\0" x (1024 * 1024);
    my $html = file_bytes('proto/page.html.en');
    # path => [ status, the body it must have (for a 200), its tag ].
    # mod_http2 (2.4.71) ends a connection upgraded from HTTP/1.1 (GOAWAY)
    # whenever it would wait for the client: once no stream is left, and
    # once every stream waits for a WINDOW_UPDATE.  So the first path (the
    # Upgrade's request there) sends nothing for a second, and then a few
    # lines, while the other streams are served; and there the client's
    # windows hold every body (elsewhere they are nghttp's 64 KiB: the 1
    # MiB bodies wait for its WINDOW_UPDATEs).
    my $later = "line 1, after a pause\nline 2, after a pause\n"
              . "line 3, after a pause\n";
    my @paths = ('/dyn/later.sh', '/static/a.txt', '/dyn/hello.sh', $m,
                 '/gz/big.txt', '/static/b.css', '/dyn/parts.lua',
                 '/dyn/big.sh?mb=1', '/proto/page.html');
    my %want = (
        '/dyn/later.sh'  => [ 200, $later,
                              digest_tag('text/plain', '', $later) ],
        '/static/a.txt'  => [ 304, '', $T ],
        '/dyn/hello.sh'  => [ 304, '', $D ],
        $m               => [ 304, '', $M ],
        '/gz/big.txt'    => [ 304, '', $gz->{fields}{etag} ],
        '/static/b.css'  => [ 200, file_bytes('static/b.css'),
                              tag_of('static/b.css') ],
        '/dyn/parts.lua' => [ 200, $lua->{body}, $lua->{fields}{etag} ],
        '/dyn/big.sh?mb=1' => [ 200, $zero, undef ],
        '/proto/page.html' => [ 200, $html, undef ],
    );
    my $copies = 5;
    my $run = nghttp([ map { "$w->{base}$_" } @paths ], %{ $w->{opt} },
                     multiply => $copies,
                     $w->{opt}{upgrade} ? (window_bits => 30) : (),
                     headers => [ 'accept-encoding' => 'gzip',
                                  'if-none-match' => join ', ',
                                      map { $want{$_}[2] }
                                      grep { $want{$_}[0] == 304 } @paths ]);
    my @streams = @{ $run->{streams} };
    ok t_cmp($run->{exit}, 0, "$n many streams: nghttp ended within its bound");
    ok t_cmp($run->{connects}, 1, "$n many streams: on one connection");
    ok t_cmp($run->{protocol}, $w->{protocol}, "$n many streams: the protocol");
    ok t_cmp(scalar @streams, $copies * @paths,
             "$n many streams: every stream");
    ok t_cmp($run->{goaway} // 0, 0,
             "$n many streams: no GOAWAY with an error");
    for my $path (@paths) {
        my ($status, $body, $tag) = @{ $want{$path} };
        my @mine = grep { $_->{path} eq $path } @streams;
        my @wrong;
        for my $st (@mine) {
            $st->{run} = $run;
            my $got = $st->{body};
            # the gzip response is checked on its bytes once inflated
            if (($st->{fields}{'content-encoding'} // '') eq 'gzip'
                && $st->{status} == 200) {
                my $out;
                IO::Uncompress::Gunzip::gunzip(\$got => \$out) or $out = '';
                $got = $out;
            }
            my $why = join ', ', grep { $_ } (
                ended($st) ne 'ended' ? ended($st) : '',
                $st->{status} != $status ? "status $st->{status}" : '',
                $status == 304 && $st->{data_frames}
                    ? "$st->{data_frames} DATA frames" : '',
                defined $tag && ($st->{fields}{etag} // '') ne $tag
                    ? 'ETag ' . ($st->{fields}{etag} // 'none') : '',
                length($got) != length($body)
                    ? 'length ' . length($got) : '',
                length($got) == length($body) && $got ne $body
                    ? 'other bytes' : '',
                defined $st->{fields}{'content-length'}
                    && $st->{fields}{'content-length'} != length $st->{body}
                    ? "Content-Length $st->{fields}{'content-length'} for "
                      . length($st->{body}) . ' bytes' : '',
            );
            push @wrong, "stream $st->{id}: $why" if $why;
        }
        ok t_cmp(scalar(@mine) . ' ' . join('; ', @wrong), "$copies ",
                 "$n many streams: $copies of $path, each $status"
                 . ($status == 200 ? ', its whole body' : ', no DATA'));
    }
    ok t_cmp(store_runs($m), $mruns,
             "$n many streams: the store's page did not run");
}

# --- a tag the store learnt over HTTP/1.1 on TLS answers over h2 -------------
# one virtual host, one store entry, whatever the protocol
{
    my $s = '/store/page.lua?case=h1-then-h2';
    my $before = store_runs($s);
    my $r = curl_request(base_url('mod_ssl') . $s, proto => 'http1.1');
    ok t_cmp("$r->{code} $r->{version}", '200 1.1',
             'HTTP/1.1 over TLS: 200' . ($r->{error} ? " ($r->{error})" : ''));
    my $st = h2($ways[0], $s, 'if-none-match' => $r->{fields}{etag} // 'none');
    ok t_cmp($st->{status}, 304, 'then h2, INM: 304');
    ok t_cmp(store_runs($s), $before + 1, 'from the entry HTTP/1.1 stored');
}

# --- many transfers at once through curl, multiplexed over h2 (TLS) ----------
# another client; each transfer with fields of its own (--next): a 304
# and a 200 of each resource, one after the other, on one connection
{
    my $tls = base_url('mod_ssl');
    my $D = GET('/dyn/hello.sh')->header('ETag');
    my $lua = GET('/dyn/parts.lua');
    # [ [ status, body ], url, curl_request's options ]
    my @reqs;
    for (1 .. 4) {
        push @reqs,
            [ [ 304, '' ], "$tls/static/a.txt", proto => 'http2',
              headers => [ 'If-None-Match' => $T ] ],
            [ [ 200, file_bytes('static/a.txt') ], "$tls/static/a.txt",
              proto => 'http2' ],
            [ [ 304, '' ], "$tls/dyn/hello.sh", proto => 'http2',
              headers => [ 'If-None-Match' => $D ] ],
            [ [ 200, $lua->content ], "$tls/dyn/parts.lua", proto => 'http2' ],
            [ [ 304, '' ], "$tls/dyn/parts.lua", proto => 'http2',
              headers => [ 'If-None-Match' => $lua->header('ETag') ] ],
            [ [ 200, "\0" x (1024 * 1024) ], "$tls/dyn/big.sh?mb=1",
              proto => 'http2' ];
    }
    my @want = map { $_->[0] } @reqs;
    my @res = curl_parallel(map { [ @$_[1 .. $#$_] ] } @reqs);
    my %ports = map { $_->{local_port} => 1 } @res;
    my $connects = 0;
    $connects += $_->{num_connects} for @res;
    ok t_cmp(scalar(keys %ports), 1, 'curl: every transfer on one connection');
    ok t_cmp($connects, 1, 'curl: one connection opened');
    my @kinds = ('304 of a.txt', '200 of a.txt', '304 of hello.sh',
                 '200 of parts.lua', '304 of parts.lua', '200 of big.sh');
    for my $k (0 .. $#kinds) {
        my @wrong;
        for (my $i = $k; $i < @res; $i += @kinds) {
            my $r = $res[$i];
            my ($status, $body) = @{ $want[$i] };
            my $why = join ', ', grep { $_ } (
                $r->{error} ? $r->{error} : '',
                $r->{version} ne '2' ? "HTTP/$r->{version}" : '',
                $r->{code} != $status ? "status $r->{code}" : '',
                length($r->{body}) != length($body)
                    ? 'length ' . length($r->{body}) : '',
                length($r->{body}) == length($body) && $r->{body} ne $body
                    ? 'other bytes' : '',
            );
            push @wrong, "transfer $i: $why" if $why;
        }
        ok t_cmp(join('; ', @wrong), '',
                 "curl over h2: each $kinds[$k], whole");
    }
}
