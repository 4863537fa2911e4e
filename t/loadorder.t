# The order in which modules are loaded must not change an answer.  Debian
# loads mods-enabled/*.load alphabetically, condcache.load before
# headers.load, include.load and rewrite.load; a hand-made configuration
# may load the module last.  Two servers of this test's own, one per
# order, get the same requests, and must give the answers stock httpd
# gives: RequestHeader in .htaccess takes a precondition out before the
# module reads it, XBitHack and server-parsed pages are SSI output, a
# per-directory rewrite decides on the file it leads to.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use File::Temp qw(tempdir);
use LWP::UserAgent ();
use HTTP::Request ();
use lib 't/lib';
use CondCacheTest;

my $httpd   = Apache::Test::vars('httpd');
my $modules = Apache::Test::vars('serverroot') . '/modules';
my $site    = docroot() . '/order';

# Debian's alphabetical order of the .load files, and the module last
my @debian = qw(authz_core condcache deflate dir env filter headers include
                mime mpm_event negotiation rewrite setenvif);
my %orders = (
    'Debian (condcache before headers, include, rewrite)' => [@debian],
    'condcache last' => [(grep { $_ ne 'condcache' } @debian), 'condcache'],
);

chmod 0755, "$site/xbit/page.html";
set_mtime($_) for qw(order/headers/a.txt order/xbit/page.html
                     order/parsed/page.shtml order/rewrite/new.txt);

# [ what, path, [ headers ], status, body like (or undef) ]
my @cases = (
    [ 'RequestHeader unset If-None-Match: no 304 for INM *',
      '/headers/a.txt', [ 'If-None-Match' => '*' ], 200 ],
    [ 'RequestHeader unset If-Modified-Since: no 304 for the file\'s time',
      '/headers/a.txt', [ 'If-Modified-Since' => LM_DATE ], 200 ],
    [ 'RequestHeader leaves If-Match alone: 412',
      '/headers/a.txt', [ 'If-Match' => '"x"' ], 412 ],
    [ 'XBitHack: SSI output, the file\'s tag gets no 304',
      '/xbit/page.html', [ 'If-None-Match' => tag_of('order/xbit/page.html') ],
      200, qr{<p>part\n</p>} ],
    [ 'server-parsed handler: SSI output, no 304 for the file\'s tag',
      '/parsed/page.shtml',
      [ 'If-None-Match' => tag_of('order/parsed/page.shtml') ],
      200, qr{<p>part\n</p>} ],
    [ 'a per-directory rewrite: the file it leads to decides',
      '/rewrite/old.txt',
      [ 'If-None-Match' => tag_of('order/rewrite/new.txt') ], 304 ],
    [ 'a per-directory rewrite: and its 200',
      '/rewrite/old.txt', [ 'If-None-Match' => '"x"' ], 200,
      qr/the new file/ ],
);

plan tests => 2 * (1 + @cases);

my $ua = LWP::UserAgent->new(timeout => 30);
for my $name (sort keys %orders) {
    my $dir = tempdir(CLEANUP => 1);
    my $port = free_port();
    my $loads = join '', map {
        my $file = $_ eq 'condcache' ? module_so() : "$modules/mod_$_.so";
        "LoadModule ${_}_module \"$file\"\n"
    } @{ $orders{$name} };
    open my $fh, '>', "$dir/httpd.conf" or die "$dir/httpd.conf: $!";
    print $fh <<"EOF";
$loads
${\ own_server_conf($dir, $port)}
DocumentRoot "$site"
<Directory "$site">
    CondCache On
    AllowOverride FileInfo Options
    Options +Includes +FollowSymLinks
    Require all granted
</Directory>
EOF
    close $fh;
    my $out = `'$httpd' -d '$dir' -f '$dir/httpd.conf' -k start 2>&1`;
    my $up = wait_for($port);
    ok t_cmp($up ? 'up' : "not up: $out", 'up', "$name: the server starts");
    for my $c (@cases) {
        my ($what, $path, $headers, $status, $body) = @$c;
        my $r = $ua->request(HTTP::Request->new(
                    GET => "http://127.0.0.1:$port$path", $headers));
        my $got = $r->code;
        $got .= ' ' . $r->content
            if defined $body && $r->content !~ $body;
        ok t_cmp($got, $status, "$name: $what");
    }
    stop($dir);
}
