/**
 * Durable stream storage on local disk (issue 3): {@link dev.wirebus.server.internal.storage.SegmentedFileLog},
 * one per stream directory, with the sync policies {@link dev.wirebus.server.internal.storage.GroupCommitter}
 * ({@code batch}, or asynchronous {@code always}) and {@link dev.wirebus.server.internal.storage.CoalescingSync}
 * (blocking {@code always}). File format, threading and how the broker uses it: {@code docs/storage.md}.
 */
package dev.wirebus.server.internal.storage;
