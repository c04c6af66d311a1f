//! End-to-end tests: the real `aftercare` binary, driven through its gRPC API and
//! its command line, on the embedded default and on JetStream + PostgreSQL.

mod browser;
mod callbacks;
mod churn;
mod cli;
mod club;
mod cluster;
mod complaints;
mod customers;
mod dead_letters;
mod edge;
mod harness;
mod import;
mod ingest;
mod leads;
mod metrics;
mod migrate;
mod replicas;
mod restart;
mod retries;
mod risk;
mod sales;
mod serve;
mod traces;
mod visits;
mod walkthrough;
mod warnings;
mod web;
