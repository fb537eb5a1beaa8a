/** Implementation of the wirebus client; not public API, may change without notice. */
package dev.wirebus.client.internal;
