#!/usr/bin/env bash
# Intermittent neighbour: both cores busy 2 s, then idle 3 s, until killed.
while true; do
  timeout 2 sh -c 'while :; do :; done' & timeout 2 sh -c 'while :; do :; done'; wait
  sleep 3
done
