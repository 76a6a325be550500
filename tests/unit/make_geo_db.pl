#!/usr/bin/perl
# SPDX-License-Identifier: MIT
# Writes a small MaxMind-format City database for the tests (made at test time, so make
# check needs no downloaded data). Usage: make_geo_db.pl OUT.mmdb
# Networks are documentation ranges (RFC 5737, RFC 3849), each given a fake place:
#   203.0.113.0/24  AU Sydney   -33.8688, 151.2093
#   198.51.100.0/24 DE Berlin    52.5200,  13.4050
#   192.0.2.0/24    US (country only, no city, no location)
#   2001:db8:1::/48 JP Tokyo     35.6762, 139.6503
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

my %types = (
    country => 'map', city => 'map', location => 'map', names => 'map',
    iso_code => 'utf8_string', en => 'utf8_string', latitude => 'double', longitude => 'double',
);
my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version => 6, record_size => 24, database_type => 'mlsec-Test-City',
    languages => ['en'], description => { en => 'mlsec test locations (fake)' },
    map_key_type_callback => sub { $types{ $_[0] } },
    alias_ipv6_to_ipv4 => 1, remove_reserved_networks => 0,
);
sub place {
    my ($cc, $country, $city, $lat, $lon) = @_;
    my %p = (country => { iso_code => $cc, names => { en => $country } });
    $p{city} = { names => { en => $city } } if defined $city;
    $p{location} = { latitude => $lat, longitude => $lon } if defined $lat;
    return \%p;
}
$tree->insert_network('203.0.113.0/24', place('AU', 'Australia', 'Sydney', -33.8688, 151.2093));
$tree->insert_network('198.51.100.0/24', place('DE', 'Germany', 'Berlin', 52.5200, 13.4050));
$tree->insert_network('192.0.2.0/24', place('US', 'United States'));
$tree->insert_network('2001:db8:1::/48', place('JP', 'Japan', 'Tokyo', 35.6762, 139.6503));
open my $fh, '>:raw', $ARGV[0] or die "$ARGV[0]: $!";
$tree->write_tree($fh);
close $fh or die "$ARGV[0]: $!";
