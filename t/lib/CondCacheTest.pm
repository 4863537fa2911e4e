package CondCacheTest;
# Helpers shared by the mod_condcache tests.
use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use Apache::Test ();
use Apache::TestUtil ();

our @EXPORT = qw(docroot file_path set_mtime tag_of http_date note_for
                 LM_SECS LM_DATE);

# The modification time every test file gets: Sun, 06 Nov 1994 08:49:37
use constant LM_SECS => 784111777;
use constant LM_DATE => 'Sun, 06 Nov 1994 08:49:37 GMT';

sub docroot { Apache::Test::vars('documentroot') }

sub file_path { docroot() . '/' . shift }

# Give a file under htdocs a known mtime (whole seconds), so that the
# MTime part of its tag is known too.
sub set_mtime {
    my ($rel, $secs) = @_;
    $secs //= LM_SECS;
    utime $secs, $secs, file_path($rel) or die "utime $rel: $!";
}

# The tag CondCacheETag "MTime Size" (the default) gives a file whose mtime
# is whole seconds: size and mtime in microseconds, lowercase hex.
sub tag_of {
    my ($rel, %opt) = @_;
    my @st = stat file_path($rel) or die "stat $rel: $!";
    my @parts;
    push @parts, sprintf '%x', $st[1] if $opt{inode};
    push @parts, sprintf '%x', $st[7] unless $opt{no_size};
    push @parts, sprintf '%x', $st[9] * 1_000_000 unless $opt{no_mtime};
    return '"' . join('-', @parts) . '"';
}

sub http_date {
    my @t = gmtime shift;
    return sprintf '%s, %02d %s %04d %02d:%02d:%02d GMT',
        (qw(Sun Mon Tue Wed Thu Fri Sat))[$t[6]], $t[3],
        (qw(Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec))[$t[4]],
        $t[5] + 1900, @t[2, 1, 0];
}

# The condcache note logged for the last request to $uri: the access log
# line is written after the response, so wait for it a little.
sub note_for {
    my ($method, $uri) = @_;
    my $log = Apache::Test::vars('t_logs') . '/condcache_log';
    for (1 .. 50) {
        if (open my $fh, '<', $log) {
            my $found;
            while (<$fh>) {
                $found = $1 if /^\Q$method\E \Q$uri\E \S+ ".*" \[(.*)\]$/;
            }
            return $found if defined $found;
        }
        select undef, undef, undef, 0.1;
    }
    return undef;
}

1;
