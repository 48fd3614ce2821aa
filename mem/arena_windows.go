package mem

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
)

// mapRegion reserves and commits dataLen bytes between two PAGE_NOACCESS
// guard pages.
func mapRegion(dataLen, page int) (region, error) {
	total := dataLen + 2*page
	addr, err := windows.VirtualAlloc(0, uintptr(total), windows.MEM_COMMIT|windows.MEM_RESERVE, windows.PAGE_READWRITE)
	if err != nil {
		return region{}, fmt.Errorf("VirtualAlloc: %w", err)
	}
	base := *(*unsafe.Pointer)(unsafe.Pointer(&addr))
	m := unsafe.Slice((*byte)(base), total)
	r := region{mapping: m, data: m[page : page+dataLen : page+dataLen]}
	var old uint32
	if err := windows.VirtualProtect(addr, uintptr(page), windows.PAGE_NOACCESS, &old); err != nil {
		releaseRegion(r)
		return region{}, fmt.Errorf("VirtualProtect guard page: %w", err)
	}
	if err := windows.VirtualProtect(addr+uintptr(total-page), uintptr(page), windows.PAGE_NOACCESS, &old); err != nil {
		releaseRegion(r)
		return region{}, fmt.Errorf("VirtualProtect guard page: %w", err)
	}
	return r, nil
}

func dataAddr(r region) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(r.data))) }

func lockRegion(r region) error {
	if err := windows.VirtualLock(dataAddr(r), uintptr(len(r.data))); err != nil {
		return fmt.Errorf("VirtualLock: %w", err)
	}
	return nil
}

func releaseRegion(r region) {
	_ = windows.VirtualUnlock(dataAddr(r), uintptr(len(r.data)))
	_ = windows.VirtualFree(uintptr(unsafe.Pointer(unsafe.SliceData(r.mapping))), 0, windows.MEM_RELEASE)
}

func lockLimit() string {
	var lo, hi uintptr
	var flags uint32
	windows.GetProcessWorkingSetSizeEx(windows.CurrentProcess(), &lo, &hi, &flags)
	return fmt.Sprintf("minimum working set is %d bytes", lo)
}

const lockAdvice = "raise the process's minimum working set (SetProcessWorkingSetSizeEx)"
