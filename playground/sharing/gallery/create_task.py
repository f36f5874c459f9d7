import asyncio

async def brew_coffee():
    print("Start brewing coffee")
    await asyncio.sleep(3)
    print("Coffee is ready")
    return "coffee"

async def toast_bread():
    print("Start toasting bread")
    await asyncio.sleep(2)
    print("Toast is ready")
    return "toast"

async def main():
    coffee_task = asyncio.create_task(brew_coffee())
    toast_task = asyncio.create_task(toast_bread())
    print("Both started, doing other work")
    coffee = await coffee_task
    toast = await toast_task
    print(f"Breakfast: {coffee} and {toast}")

asyncio.run(main())
